# Chess (issue #4): the Stockfish 15.1 engine, pychess's mate puzzles and scid's ECO opening lines,
# from Debian's archive: downloaded (not installed) by name and version with apt-get download,
# verified by sha256, unpacked with dpkg -x, and only the files w2s reads are kept:
#   $CACHE/assets/stockfish/stockfish      the UCI engine (NNUE built in; needs only libc/libstdc++)
#   $CACHE/assets/pychess/puzzles/         mate_in_{2,3,4}.pgn, *.olv composed problems, lichess studies
#   $CACHE/assets/scid/scid.eco            ECO opening lines in SAN
# Sourced by scripts/bootstrap.sh (uses say, fetch_deb, asset, $CACHE, $DL); idempotent.

# package=version|file|sha256
CHESS_DEBS=(
  "stockfish=15.1-4|stockfish_15.1-4_amd64.deb|ee9da8f9784d87432e6071b7707f22f89955ce44616b701ca4b11334757aa2ae"
  "pychess=1.0.3-1|pychess_1.0.3-1_all.deb|63bd95b5445365566eade8122d64ba3d28e38b167bb791db479654b3291698a5"
  "scid-data=1:4.7.4+dfsg1-2|scid-data_4.7.4+dfsg1-2_all.deb|8310db911ec7b3f501fac1a696b58dcb93e53d0544a4529af6f1d95f08f926ec"
)

for d in "${CHESS_DEBS[@]}"; do
  IFS='|' read -r pkgver file sha <<<"$d"
  fetch_deb "$pkgver" "$file" "$sha"
done

build_stockfish() {
  dpkg -x "$DL/stockfish_15.1-4_amd64.deb" "$1"
  mv "$1/usr/games/stockfish" "$2/stockfish"
  cp "$1/usr/share/doc/stockfish/copyright" "$2/copyright"
  "$2/stockfish" <<<"quit" >/dev/null || { say "ERROR: $2/stockfish does not run on this machine"; exit 1; }
}
asset "Stockfish 15.1" "$CACHE/assets/stockfish" build_stockfish

build_pychess() {
  dpkg -x "$DL/pychess_1.0.3-1_all.deb" "$1"
  mkdir -p "$2/puzzles"
  cp "$1"/usr/share/pychess/learn/puzzles/*.pgn "$1"/usr/share/pychess/learn/puzzles/*.olv "$2/puzzles/"
  cp "$1/usr/share/doc/pychess/copyright" "$2/copyright"
}
asset "pychess's puzzles" "$CACHE/assets/pychess" build_pychess

build_scid() {
  dpkg -x "$DL/scid-data_4.7.4+dfsg1-2_all.deb" "$1"
  mv "$1/usr/share/scid/data/scid.eco" "$2/scid.eco"
  cp "$1/usr/share/doc/scid-data/copyright" "$2/copyright"
}
asset "scid's ECO opening lines" "$CACHE/assets/scid" build_scid
