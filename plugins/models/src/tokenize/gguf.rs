//! The tokenizer stored inside a GGUF file: SentencePiece BPE (`tokenizer.ggml.model = llama`)
//! in `gguf_spm`; here the byte-level BPE tokenizer (Radford et al. 2019, GPT-2; `gpt2`)
//! stored inside a GGUF file: `tokenizer.ggml.tokens` (id order), `tokenizer.ggml.merges`
//! (`"a b"`, by rank) and `tokenizer.ggml.token_type` (3: control tokens, matched whole), built
//! with the `tokenizers` crate. Pre-tokenization mirrors SmolLM2's `tokenizer.json` (llama.cpp's
//! `smollm` pre-tokenizer): each digit alone, then the GPT-2 regex with byte-level mapping.

use anyhow::{anyhow, Context};
use tokenizers::{
    decoders::byte_level::ByteLevel as ByteLevelDecoder,
    models::bpe::{Merges, Vocab, BPE},
    pre_tokenizers::{byte_level::ByteLevel, digits::Digits, sequence::Sequence},
    AddedToken, Tokenizer,
};

use crate::format::gguf::{Gguf, Value};

/// ggml's token type of control tokens (`<|im_start|>`, ...).
const CONTROL: u64 = 3;

/// The tokenizer of `g`.
pub fn load(g: &Gguf) -> anyhow::Result<Tokenizer> {
    let file = g.path.display();
    let model = g.get_str("tokenizer.ggml.model")?;
    match model {
        "gpt2" => {}
        "llama" => return super::gguf_spm::load(g),
        _ => anyhow::bail!(
            "{file}: tokenizer.ggml.model is {model:?}; supported: gpt2 (byte-level BPE) and llama (SentencePiece BPE)"
        ),
    }
    // Only SmolLM2's pre-tokenization is implemented; another model's (`qwen2`, `llama-bpe`, ...)
    // splits some texts differently, so its token ids may differ from llama.cpp's.
    if let Ok(pre) = g.get_str("tokenizer.ggml.pre") {
        if pre != "smollm" {
            tracing::warn!(
                "{file}: tokenizer.ggml.pre is {pre:?}; w2s pre-tokenizes as SmolLM2 (`smollm`: digits alone, then \
                 GPT-2's regex), so some texts may split differently from llama.cpp"
            );
        }
    }
    let tokens = g.get_strings("tokenizer.ggml.tokens")?;
    let vocab: Vocab = tokens.iter().enumerate().map(|(i, t)| (t.to_string(), i as u32)).collect();
    let merges: Merges = g
        .get_strings("tokenizer.ggml.merges")?
        .iter()
        .map(|m| m.split_once(' ').map(|(a, b)| (a.to_string(), b.to_string())))
        .collect::<Option<_>>()
        .with_context(|| format!("{file}: a tokenizer.ggml.merges entry is not two tokens"))?;
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|e| anyhow!("{file}: building the BPE model: {e}"))?;
    let mut tok = Tokenizer::new(bpe);
    tok.with_pre_tokenizer(Some(Sequence::new(vec![
        Digits::new(true).into(),
        ByteLevel::new(false, true, true).into(),
    ])));
    tok.with_decoder(Some(ByteLevelDecoder::default()));
    let control: Vec<AddedToken> = match g.metadata.get("tokenizer.ggml.token_type") {
        Some(Value::Array(types)) => types
            .iter()
            .zip(&tokens)
            .filter(|(t, _)| t.as_u64() == Some(CONTROL))
            .map(|(_, s)| AddedToken::from(s.to_string(), true))
            .collect(),
        _ => Vec::new(),
    };
    tok.add_special_tokens(&control);
    Ok(tok)
}

/// Token ids of each text (no special tokens added), cut to the first `max_len`.
pub fn encode(tok: &Tokenizer, texts: &[&str], max_len: usize) -> anyhow::Result<Vec<Vec<i64>>> {
    let encs = tok.encode_batch(texts.to_vec(), false).map_err(|e| anyhow!("tokenizing: {e}"))?;
    Ok(encs.iter().map(|e| e.get_ids().iter().take(max_len).map(|&i| i as i64).collect()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::smollm2;

    #[test]
    fn round_trips_and_splits_like_smollm2() {
        let tok = load(smollm2()).unwrap();
        for s in
            ["The capital of France is", "naïve café — 東京", "  two  spaces\nand 12345 digits!", "<|im_start|>user"]
        {
            let enc = tok.encode(s, false).unwrap();
            assert_eq!(tok.decode(enc.get_ids(), false).unwrap(), s);
        }
        let enc = tok.encode("The capital of France is", false).unwrap();
        assert_eq!(enc.get_tokens(), ["The", "Ġcapital", "Ġof", "ĠFrance", "Ġis"]);
        // Digits one by one; control tokens whole.
        let enc = tok.encode("in 2024<|im_end|>", false).unwrap();
        assert_eq!(enc.get_tokens(), ["in", "Ġ", "2", "0", "2", "4", "<|im_end|>"]);
        assert_eq!(*enc.get_ids().last().unwrap(), 2);
        let ids = encode(&tok, &["a b c d e f"], 3).unwrap();
        assert_eq!(ids[0].len(), 3);
    }
}
