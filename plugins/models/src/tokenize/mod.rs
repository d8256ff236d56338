//! Tokenizers (HF's `tokenizers` crate): from HF `tokenizer.json` files or GPT-2 BPE files
//! (`hf`), or from the vocabulary stored in a GGUF file (`gguf`); and [`Tokens`], how a decoder
//! head tokenizes its texts.

pub mod gguf;
pub mod gguf_spm;
pub mod hf;

use std::sync::Arc;

use anyhow::ensure;
use tokenizers::Tokenizer;

use crate::format::gguf::Gguf;

/// Token ids of texts, cut to a maximum length.
pub type Encode = fn(&Tokenizer, &[&str], usize) -> anyhow::Result<Vec<Vec<i64>>>;

/// How a decoder classifier tokenizes.
pub struct Tokens {
    pub tok: Arc<Tokenizer>,
    pub encode: Encode,
    /// The id of padding positions (masked out: any id in the vocabulary).
    pub pad_id: i64,
}

impl Tokens {
    /// The tokenizer of the decoder in GGUF file `g`: byte-level BPE with no special tokens
    /// added (SmolLM2), or SentencePiece with its `<bos>` in front when the file asks (Gemma).
    pub fn gguf(g: &Gguf) -> anyhow::Result<Self> {
        let tok = Arc::new(gguf::load(g)?);
        let pad_id = g.get_u64("tokenizer.ggml.padding_token_id").unwrap_or(0) as i64;
        let encode: Encode = match g.get_str("tokenizer.ggml.model")? {
            "llama" => hf::encode_prefix,
            _ => gguf::encode,
        };
        Ok(Tokens { tok, encode, pad_id })
    }

    /// The tokenization of decoder checkpoint folders: the tokenizer's special tokens added, texts
    /// cut to their first tokens.
    pub fn hf(tok: Arc<Tokenizer>) -> Self {
        Tokens { tok, encode: hf::encode_prefix, pad_id: 0 }
    }

    /// Check that a model with `vocab_size` embeddings has one for every id of the tokenizer.
    pub fn check_vocab(&self, vocab_size: i64) -> anyhow::Result<()> {
        let vocab = self.tok.get_vocab(true).values().max().map_or(0, |&m| m as i64 + 1);
        ensure!(
            vocab <= vocab_size,
            "the tokenizer has {vocab} token ids but the model's vocab_size is {vocab_size}: the tokenizer does not belong to this model"
        );
        Ok(())
    }
}
