//! Tokenizers loaded from HF `tokenizer.json` files (padding and truncation off: w2s pads each
//! batch itself and truncates to the model's maximum length).

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, OnceLock},
};

use anyhow::{anyhow, Context};
use tokenizers::Tokenizer;

/// A loaded tokenizer, shared across models in one process.
pub fn load(path: &Path) -> anyhow::Result<Arc<Tokenizer>> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Arc<Tokenizer>>>> = OnceLock::new();
    let mut cache = CACHE.get_or_init(Default::default).lock().expect("tokenizer cache lock");
    if let Some(t) = cache.get(path) {
        return Ok(t.clone());
    }
    let mut tok = Tokenizer::from_file(path).map_err(|e| anyhow!("loading tokenizer {}: {e}", path.display()))?;
    tok.with_padding(None);
    tok.with_truncation(None).map_err(|e| anyhow!("{e}"))?;
    let tok = Arc::new(tok);
    cache.insert(path.to_path_buf(), tok.clone());
    Ok(tok)
}

/// Token ids of each text (with the tokenizer's special tokens), cut to `max_len` keeping the
/// last token (e.g. BERT's `[SEP]`).
pub fn encode(tok: &Tokenizer, texts: &[&str], max_len: usize) -> anyhow::Result<Vec<Vec<i64>>> {
    let encs = tok
        .encode_batch(texts.to_vec(), true)
        .map_err(|e| anyhow!("tokenizing: {e}"))
        .context("encoding texts")?;
    Ok(encs
        .into_iter()
        .map(|e| {
            let ids = e.get_ids();
            let mut out: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
            if out.len() > max_len && max_len >= 2 {
                let last = *out.last().unwrap();
                out.truncate(max_len - 1);
                out.push(last);
            }
            out
        })
        .collect())
}
