//! The tokenizer stored inside a GGUF file: SentencePiece BPE (`tokenizer.ggml.model = llama`)
//! in `gguf_spm`; here the byte-level BPE tokenizer (Radford et al. 2019, GPT-2; `gpt2`)
//! stored inside a GGUF file: `tokenizer.ggml.tokens` (id order), `tokenizer.ggml.merges`
//! (`"a b"`, by rank) and `tokenizer.ggml.token_type` (3: control tokens, matched whole), built
//! with the `tokenizers` crate. Pre-tokenization follows `tokenizer.ggml.pre` (see
//! [`pre_tokenizer`]: SmolLM2's, GPT-2's, Qwen2's, Llama 3's), as each model's own
//! `tokenizer.json` has it; another value is split as GPT-2 does, with a warning.

use anyhow::{anyhow, Context};
use tokenizers::{
    decoders::byte_level::ByteLevel as ByteLevelDecoder,
    models::bpe::{Merges, Vocab, BPE},
    pre_tokenizers::{
        byte_level::ByteLevel,
        digits::Digits,
        sequence::Sequence,
        split::{Split, SplitPattern},
        PreTokenizerWrapper,
    },
    AddedToken, SplitDelimiterBehavior, Tokenizer,
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
    let pre = g.get_str("tokenizer.ggml.pre").unwrap_or("default");
    let pre_tokenizer = pre_tokenizer(pre).unwrap_or_else(|| {
        tracing::warn!(
            "{file}: tokenizer.ggml.pre is {pre:?}, which w2s does not know (known: {}); it splits as GPT-2 \
             does, so some texts may get other ids than llama.cpp gives",
            PRE_TOKENIZERS.join(", ")
        );
        ByteLevel::new(false, true, true).into()
    });
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
    tok.with_pre_tokenizer(Some(pre_tokenizer));
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

/// The `tokenizer.ggml.pre` values w2s splits as llama.cpp does (`llama-vocab.cpp`).
pub const PRE_TOKENIZERS: [&str; 5] = ["smollm", "gpt2", "default", "qwen2", "llama-bpe"];

/// GPT-2's split with contractions and letters, numbers in runs of at most `digits` (HF's
/// `tokenizer.json` of Qwen2: 1; of Llama 3: 3).
fn split_regex(digits: usize) -> String {
    format!(
        r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{{L}}\p{{N}}]?\p{{L}}+|\p{{N}}{{1,{digits}}}| ?[^\s\p{{L}}\p{{N}}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
    )
}

/// The pre-tokenizer of a `tokenizer.ggml.pre` value, as the models' own `tokenizer.json`
/// files have it: `smollm` each digit alone then GPT-2's regex; `gpt2` / `default` GPT-2's
/// regex; `qwen2` and `llama-bpe` (Llama 3) their split regex; all with byte-level mapping.
pub fn pre_tokenizer(pre: &str) -> Option<PreTokenizerWrapper> {
    let byte_level = |regex: bool| -> PreTokenizerWrapper { ByteLevel::new(false, true, regex).into() };
    let split = |digits: usize| -> Option<PreTokenizerWrapper> {
        let split =
            Split::new(SplitPattern::Regex(split_regex(digits)), SplitDelimiterBehavior::Isolated, false).ok()?;
        Some(Sequence::new(vec![split.into(), byte_level(false)]).into())
    };
    match pre {
        "smollm" => Some(Sequence::new(vec![Digits::new(true).into(), byte_level(true)]).into()),
        "gpt2" | "default" => Some(byte_level(true)),
        "qwen2" => split(1),
        "llama-bpe" => split(3),
        _ => None,
    }
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

    #[test]
    fn pre_tokenizers_split_numbers_as_their_models_do() {
        use tokenizers::{OffsetReferential, OffsetType, PreTokenizedString, PreTokenizer};
        let pieces = |pre: &str, text: &str| -> Vec<String> {
            let mut s = PreTokenizedString::from(text);
            pre_tokenizer(pre).unwrap().pre_tokenize(&mut s).unwrap();
            s.get_splits(OffsetReferential::Original, OffsetType::Byte)
                .into_iter()
                .map(|(p, _, _)| p.to_string())
                .collect()
        };
        assert_eq!(pieces("llama-bpe", "in 12345!"), ["in", "Ġ", "123", "45", "!"]);
        assert_eq!(pieces("qwen2", "in 12345"), ["in", "Ġ", "1", "2", "3", "4", "5"]);
        assert_eq!(pieces("gpt2", "they'll 12345"), ["they", "'ll", "Ġ12345"]);
        assert!(pre_tokenizer("falcon").is_none());
    }
}
