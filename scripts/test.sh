#!/usr/bin/env bash
# Run the whole test suite from a fresh clone: fetch what is missing (scripts/bootstrap.sh),
# and the on-demand models the tests need (scripts/fetch.sh), then `cargo test` over the workspace (release profile, so the build is shared with scripts/w2s.sh).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$REPO/scripts/bootstrap.sh"
# The large models that the tests check against their reference implementations (on demand for runs).
bash "$REPO/scripts/fetch.sh" gemma3 mpnet
# A headless Chromium for the report tests (installed with apt-get where it can be; they skip without it).
bash "$REPO/scripts/install-chromium.sh" >/dev/null
# shellcheck source=env.sh
source "$REPO/scripts/env.sh"
cd "$REPO"
printf '\033[1m[test]\033[0m cargo test --release --workspace ...\n' >&2
cargo build --release -p w2s --bin w2s
cargo test --release --workspace "$@"
