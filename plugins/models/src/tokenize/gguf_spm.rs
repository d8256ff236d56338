//! The SentencePiece BPE tokenizer (Kudo & Richardson 2018) stored inside a GGUF file
//! (`tokenizer.ggml.model = llama`: Gemma, Llama 1/2, Mistral): `tokenizer.ggml.tokens` (id
//! order), `tokenizer.ggml.scores` (a piece's merge priority) and `tokenizer.ggml.token_type`
//! (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte), built with the
//! `tokenizers` crate the way HF's `convert_slow_tokenizer.py` converts such a model: BPE whose
//! merges are every split of a piece into two pieces, ranked by the merged piece's score
//! (`SentencePieceExtractor`), byte fallback to the `<0xXX>` pieces, spaces replaced by `▁`
//! (and one put in front when `tokenizer.ggml.add_space_prefix`), control and user-defined
//! pieces matched whole, `<bos>` put in front when `tokenizer.ggml.add_bos_token`. Checked
//! against HF's conversion of the same Gemma 3 file (`tests/gemma3.rs`).

use anyhow::{anyhow, ensure};
use tokenizers::{
    decoders::{byte_fallback::ByteFallback, fuse::Fuse, sequence::Sequence as DecoderSequence, strip::Strip},
    models::bpe::{Vocab, BPE},
    normalizers::{Prepend, Replace, Sequence as NormalizerSequence},
    processors::template::TemplateProcessing,
    AddedToken, DecoderWrapper, NormalizerWrapper, Tokenizer,
};

use crate::format::gguf::{Gguf, Value};

/// ggml's token types.
const UNKNOWN: u64 = 2;
const CONTROL: u64 = 3;
const USER_DEFINED: u64 = 4;

/// The SentencePiece tokenizer of `g`.
pub fn load(g: &Gguf) -> anyhow::Result<Tokenizer> {
    let file = g.path.display();
    let tokens = g.get_strings("tokenizer.ggml.tokens")?;
    let scores: Vec<f64> = g.get_array("tokenizer.ggml.scores")?.iter().map(|v| v.as_f64().unwrap_or(0.0)).collect();
    ensure!(scores.len() == tokens.len(), "{file}: {} tokenizer.ggml.scores for {} tokens", scores.len(), tokens.len());
    let types: Vec<u64> = match g.metadata.get("tokenizer.ggml.token_type") {
        Some(Value::Array(t)) => t.iter().map(|v| v.as_u64().unwrap_or(1)).collect(),
        _ => vec![1; tokens.len()],
    };
    let vocab: Vocab = tokens.iter().enumerate().map(|(i, t)| (t.to_string(), i as u32)).collect();
    let merges = merges(&tokens, &scores, &vocab);

    let unk = types.iter().position(|&t| t == UNKNOWN).map(|i| tokens[i].to_string());
    let mut bpe = BPE::builder().vocab_and_merges(vocab, merges).byte_fallback(true).fuse_unk(true);
    if let Some(u) = unk {
        bpe = bpe.unk_token(u);
    }
    let bpe = bpe.build().map_err(|e| anyhow!("{file}: building the SentencePiece BPE model: {e}"))?;
    let mut tok = Tokenizer::new(bpe);
    let space = Replace::new(" ", "▁").map_err(|e| anyhow!("{e}"))?;
    let mut normalizers: Vec<NormalizerWrapper> = Vec::new();
    let space_prefix = g.get_bool("tokenizer.ggml.add_space_prefix").unwrap_or(true);
    if space_prefix {
        normalizers.push(Prepend::new("▁".into()).into());
    }
    normalizers.push(space.into());
    tok.with_normalizer(Some(NormalizerSequence::new(normalizers)));
    let mut decoders: Vec<DecoderWrapper> = vec![
        Replace::new("▁", " ").map_err(|e| anyhow!("{e}"))?.into(),
        ByteFallback::new().into(),
        Fuse::new().into(),
    ];
    if space_prefix {
        decoders.push(Strip::new(' ', 1, 0).into());
    }
    tok.with_decoder(Some(DecoderSequence::new(decoders)));
    let whole = |kind: u64| -> Vec<AddedToken> {
        tokens
            .iter()
            .zip(&types)
            .filter(|(_, &t)| t == kind)
            .map(|(s, _)| AddedToken::from(s.to_string(), kind == CONTROL).normalized(false))
            .collect()
    };
    tok.add_special_tokens(&whole(CONTROL));
    tok.add_tokens(&whole(USER_DEFINED));
    if g.get_bool("tokenizer.ggml.add_bos_token").unwrap_or(true) {
        let bos = g.get_u64("tokenizer.ggml.bos_token_id")?;
        let piece = tokens.get(bos as usize).ok_or_else(|| anyhow!("{file}: bos_token_id {bos} is not a token"))?;
        let post = TemplateProcessing::builder()
            .try_single(format!("{piece} $A"))
            .and_then(|b| b.special_tokens(vec![(piece.to_string(), bos as u32)]).build().map_err(|e| e.to_string()))
            .map_err(|e| anyhow!("{file}: the BOS template: {e}"))?;
        tok.with_post_processor(Some(post));
    }
    Ok(tok)
}

/// Every split of a piece into two pieces of the vocabulary, ranked as HF's
/// `SentencePieceExtractor.extract` ranks them: by the merged piece's score, highest first
/// (ties: the merged piece's id), then by the left and right pieces' ids.
fn merges(tokens: &[&str], scores: &[f64], vocab: &Vocab) -> Vec<(String, String)> {
    let mut ranked: Vec<(f64, u32, u32, u32, String, String)> = Vec::new();
    for (id, piece) in tokens.iter().enumerate() {
        for (at, _) in piece.char_indices().skip(1) {
            let (l, r) = piece.split_at(at);
            if let (Some(&li), Some(&ri)) = (vocab.get(l), vocab.get(r)) {
                ranked.push((scores[id], id as u32, li, ri, l.to_string(), r.to_string()));
            }
        }
    }
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)).then(a.3.cmp(&b.3)));
    ranked.into_iter().map(|(.., l, r)| (l, r)).collect()
}
