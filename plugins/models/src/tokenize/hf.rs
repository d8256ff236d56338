//! Tokenizers loaded from HF `tokenizer.json` files (padding and truncation off: w2s pads each
//! batch itself and truncates to the model's maximum length), or built as GPT-2's byte-level BPE
//! (Radford et al. 2019) from a vocabulary and a merges file.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, OnceLock},
};

use anyhow::{anyhow, Context};
use tokenizers::{
    decoders::byte_level::ByteLevel as ByteLevelDecoder, models::bpe::BPE, pre_tokenizers::byte_level::ByteLevel,
    AddedToken, Tokenizer,
};

/// The tokenizer loaded from `key` by `make`, shared across models in one process.
fn shared(key: &Path, make: impl FnOnce() -> anyhow::Result<Tokenizer>) -> anyhow::Result<Arc<Tokenizer>> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Arc<Tokenizer>>>> = OnceLock::new();
    let mut cache = CACHE.get_or_init(Default::default).lock().expect("tokenizer cache lock");
    if let Some(t) = cache.get(key) {
        return Ok(t.clone());
    }
    let tok = Arc::new(make()?);
    cache.insert(key.to_path_buf(), tok.clone());
    Ok(tok)
}

/// A loaded tokenizer, shared across models in one process.
pub fn load(path: &Path) -> anyhow::Result<Arc<Tokenizer>> {
    shared(path, || {
        let mut tok = Tokenizer::from_file(path).map_err(|e| anyhow!("loading tokenizer {}: {e}", path.display()))?;
        tok.with_padding(None);
        tok.with_truncation(None).map_err(|e| anyhow!("{e}"))?;
        Ok(tok)
    })
}

/// GPT-2's byte-level BPE from a vocabulary (`vocab.json` / `encoder.json`: token → id) and
/// merges (`merges.txt` / `vocab.bpe`), with `<|endoftext|>` as a special token; shared.
pub fn byte_level_bpe(vocab: &Path, merges: &Path) -> anyhow::Result<Arc<Tokenizer>> {
    shared(vocab, || {
        let (v, m) = (vocab.to_string_lossy(), merges.to_string_lossy());
        let bpe = BPE::from_file(&v, &m)
            .build()
            .map_err(|e| anyhow!("building GPT-2 BPE from {} and {}: {e}", vocab.display(), merges.display()))?;
        let mut tok = Tokenizer::new(bpe);
        tok.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
        tok.with_decoder(Some(ByteLevelDecoder::default()));
        if tok.token_to_id("<|endoftext|>").is_some() {
            tok.add_special_tokens(&[AddedToken::from("<|endoftext|>", true)]);
        }
        Ok(tok)
    })
}

/// Token ids of each text (with the tokenizer's special tokens, e.g. a BOS), cut to the first
/// `max_len`: for decoders, which read left to right.
pub fn encode_prefix(tok: &Tokenizer, texts: &[&str], max_len: usize) -> anyhow::Result<Vec<Vec<i64>>> {
    let encs = tok.encode_batch(texts.to_vec(), true).map_err(|e| anyhow!("tokenizing: {e}"))?;
    Ok(encs.iter().map(|e| e.get_ids().iter().take(max_len).map(|&i| i as i64).collect()).collect())
}

/// Token ids of each text (with the tokenizer's special tokens), cut to `max_len` keeping the
/// last token (e.g. BERT's `[SEP]`).
pub fn encode(tok: &Tokenizer, texts: &[&str], max_len: usize) -> anyhow::Result<Vec<Vec<i64>>> {
    let encs =
        tok.encode_batch(texts.to_vec(), true).map_err(|e| anyhow!("tokenizing: {e}")).context("encoding texts")?;
    Ok(encs
        .into_iter()
        .map(|e| {
            let ids = e.get_ids();
            let mut out: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
            let last = out.last().copied().filter(|_| out.len() > max_len && max_len >= 2);
            if let Some(last) = last {
                out.truncate(max_len - 1);
                out.push(last);
            }
            out
        })
        .collect())
}
