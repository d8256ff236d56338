#!/usr/bin/env bash
# Run the w2s command line from a fresh clone: fetch what is missing (scripts/bootstrap.sh),
# build the release binary if needed, then run it with the given arguments.
#   bash scripts/w2s.sh run quickstart
#   bash scripts/w2s.sh list
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$REPO/scripts/bootstrap.sh"
# shellcheck source=env.sh
source "$REPO/scripts/env.sh"
cd "$REPO"
printf '\033[1m[w2s]\033[0m building the w2s binary (cargo build --release; the first build takes a few minutes) ...\n' >&2
cargo build --release --quiet -p w2s --bin w2s
exec "$REPO/target/release/w2s" "$@"
