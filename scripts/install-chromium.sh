#!/usr/bin/env bash
# Make a headless Chromium available for the report tests (tests/browser.rs renders report.html in it).
# Prints the browser's path when there is one (found, or installed now with apt-get as root).
# Never fails: when it cannot install (not root, no apt-get, the install fails) it says so in one
# line and exits 0, and the browser tests then skip. Idempotent. $W2S_CHROMIUM names a binary to use.
set -uo pipefail
say() { printf '\033[1m[bootstrap]\033[0m %s\n' "$*" >&2; }

find_chromium() {
  if [[ -n "${W2S_CHROMIUM:-}" ]] && command -v "$W2S_CHROMIUM"; then return 0; fi
  local name
  for name in chromium chromium-browser google-chrome google-chrome-stable; do
    command -v "$name" && return 0
  done
  return 1
}

ready() { local path; path="$(find_chromium)"; say "Chromium ready: $path"; printf '%s\n' "$path"; }
if find_chromium >/dev/null; then ready; exit 0; fi

HOWTO="install it with 'apt-get install chromium' (as root) or set W2S_CHROMIUM to a Chromium/Chrome binary"
if [[ "$(id -u)" != 0 ]]; then say "no Chromium, and not root to install it: the browser tests will skip ($HOWTO)."; exit 0; fi
if ! command -v apt-get >/dev/null; then say "no Chromium, and no apt-get to install it: the browser tests will skip ($HOWTO)."; exit 0; fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 chromium \
    >"$log" 2>&1
}
say "installing Chromium for the browser tests (apt-get install chromium) ..."
ok=0
if apt_install; then
  ok=1
elif grep -qE 'Unable to locate package|has no installation candidate|Failed to fetch|404 +Not Found' "$log"; then
  # Stale or missing package lists: refresh them once, then try again.
  say "refreshing the apt package lists (apt-get update) ..."
  apt-get update -qq >/dev/null 2>&1 || true
  apt_install && ok=1
fi
if [[ $ok != 1 ]] || ! find_chromium >/dev/null; then
  say "could not install Chromium (apt-get: $(grep -E '^(E|W):' "$log" | tail -n1)): the browser tests will skip ($HOWTO)."
  exit 0
fi
ready
