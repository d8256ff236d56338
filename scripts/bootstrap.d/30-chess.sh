# Chess (issue #4): the Stockfish 15.1 engine, pychess's mate puzzles and scid's ECO opening lines,
# from Debian's archive: downloaded (not installed) by name and version with apt-get download,
# verified by sha256, unpacked with dpkg -x, and only the files w2s reads are kept:
#   $CACHE/assets/stockfish/stockfish      the UCI engine (NNUE built in; needs only libc/libstdc++)
#   $CACHE/assets/pychess/puzzles/         mate_in_{2,3,4}.pgn, *.olv composed problems, lichess studies
#   $CACHE/assets/scid/scid.eco            ECO opening lines in SAN
# Sourced by scripts/bootstrap.sh (uses say, $CACHE, $DL); idempotent.

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

chess_unpack() { # asset deb-file: dpkg -x into $A.tmp, then the caller's moves, then .complete
  local A="$CACHE/assets/$1"
  rm -rf "$A.tmp" "$A"; mkdir -p "$A.tmp" "$A"
  dpkg -x "$DL/$2" "$A.tmp"
}

A="$CACHE/assets/stockfish"
if [[ ! -f "$A/.complete" ]]; then
  say "unpacking Stockfish 15.1 into $A ..."
  chess_unpack stockfish stockfish_15.1-4_amd64.deb
  mv "$A.tmp/usr/games/stockfish" "$A/stockfish"
  cp "$A.tmp/usr/share/doc/stockfish/copyright" "$A/copyright"
  rm -rf "$A.tmp"
  "$A/stockfish" <<<"quit" >/dev/null || { say "ERROR: $A/stockfish does not run on this machine"; exit 1; }
  touch "$A/.complete"
fi
say "Stockfish ready: $A/stockfish"

A="$CACHE/assets/pychess"
if [[ ! -f "$A/.complete" ]]; then
  say "unpacking pychess's puzzles into $A ..."
  chess_unpack pychess pychess_1.0.3-1_all.deb
  mkdir -p "$A/puzzles"
  cp "$A.tmp"/usr/share/pychess/learn/puzzles/*.pgn "$A.tmp"/usr/share/pychess/learn/puzzles/*.olv "$A/puzzles/"
  cp "$A.tmp/usr/share/doc/pychess/copyright" "$A/copyright"
  rm -rf "$A.tmp"; touch "$A/.complete"
fi
say "chess puzzles ready: $A/puzzles"

A="$CACHE/assets/scid"
if [[ ! -f "$A/.complete" ]]; then
  say "unpacking scid's ECO opening lines into $A ..."
  chess_unpack scid scid-data_4.7.4+dfsg1-2_all.deb
  mv "$A.tmp/usr/share/scid/data/scid.eco" "$A/scid.eco"
  cp "$A.tmp/usr/share/doc/scid-data/copyright" "$A/copyright"
  rm -rf "$A.tmp"; touch "$A/.complete"
fi
say "chess openings ready: $A/scid.eco"
