# Source this to build w2s with cargo directly: `source scripts/env.sh`.
# It points tch at the libtorch that scripts/bootstrap.sh unpacked and bakes its folder into
# every binary's rpath, so nothing needs LD_LIBRARY_PATH at run time.
W2S_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export W2S_CACHE="${W2S_CACHE:-$W2S_REPO/.w2s-cache}"
export LIBTORCH="$W2S_CACHE/libtorch"
export LIBTORCH_CXX11_ABI=1
export RUSTFLAGS="${W2S_EXTRA_RUSTFLAGS:-} -C link-arg=-Wl,-rpath,$LIBTORCH/lib"
