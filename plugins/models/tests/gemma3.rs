//! The real Gemma 3 270M (Q4_K_M GGUF, fetched on demand) against HF transformers 5.24.0 on the
//! same file (`scripts/make-gemma3-fixtures.py real`: `Gemma3ForCausalLM.from_pretrained(..,
//! gguf_file=..)` dequantised by the gguf package, eager attention, f32; its tokenizer converted
//! from the file by transformers), in `tests/fixtures/gemma-3-270m.reference.json`:
//! - w2s's SentencePiece tokenizer gives HF's token ids (with `<bos>`) for texts with spaces,
//!   tabs, accents, CJK, an emoji and digits;
//! - the top 5 next tokens of three prompts, in order, and their logits;
//! - the last token's final hidden state of a text;
//! - a right-padded batch gives each row's logits alone (sliding-window masks with padding).

use std::path::PathBuf;

use tch::{nn, Device, Tensor};
use w2s_core::Env;
use w2s_models::{arch::gemma3::Gemma3, format::gguf::Gguf, tokenize::Tokens, trunk::Trunk};

fn reference() -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gemma-3-270m.reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn ids(v: &serde_json::Value) -> Vec<i64> {
    v.as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect()
}

#[test]
fn gemma3_270m_matches_hf_on_the_same_file() {
    let r = reference();
    let file = Env::from_env().asset_dir("gemma3").unwrap().join(r["file"].as_str().unwrap());
    let g = Gguf::open(&file).unwrap();
    let tokens = Tokens::gguf(&g).unwrap();
    let texts: Vec<&str> = r["texts"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    let got = (tokens.encode)(&tokens.tok, &texts, 512).unwrap();
    for (i, want) in r["ids"].as_array().unwrap().iter().enumerate() {
        assert_eq!(got[i], ids(want), "token ids of {:?}", texts[i]);
    }
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Gemma3::from_gguf(&vs, &g, None).unwrap();
    assert_eq!((model.depth(), model.hidden_size(), model.vocab_size()), (18, 640, 262_144));
    let _guard = tch::no_grad_guard();
    let mut rows = Vec::new();
    for p in r["prompts"].as_array().unwrap() {
        let prompt = p["prompt"].as_str().unwrap();
        let row = (tokens.encode)(&tokens.tok, &[prompt], 512).unwrap().remove(0);
        assert_eq!(row, ids(&p["ids"]), "token ids of {prompt:?}");
        let logits = model.next_token_logits(&Tensor::from_slice(&row).unsqueeze(0), None).get(0);
        let (values, top) = logits.topk(5, -1, true, true);
        let top = Vec::<i64>::try_from(top).unwrap();
        let names: Vec<String> = top.iter().map(|&i| tokens.tok.decode(&[i as u32], false).unwrap()).collect();
        eprintln!("{prompt:?} -> {names:?} {values:?}");
        assert_eq!(top, ids(&p["top_ids"]), "top 5 next tokens of {prompt:?}: {names:?}");
        let want: Vec<f64> = p["top_logits"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let diff = (values - Tensor::from_slice(&want).to_kind(tch::Kind::Float)).abs().max().double_value(&[]);
        assert!(diff < 2e-3, "{prompt:?}: top logits differ from HF's by {diff}");
        rows.push(row);
    }
    let text = r["last_hidden"]["text"].as_str().unwrap();
    let row = (tokens.encode)(&tokens.tok, &[text], 512).unwrap().remove(0);
    let h = model.forward(&Tensor::from_slice(&row).unsqueeze(0), None).get(0).get(-1);
    let want: Vec<f64> = r["last_hidden"]["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let want = Tensor::from_slice(&want).to_kind(tch::Kind::Float);
    let diff = (&h - &want).abs().max().double_value(&[]);
    eprintln!("last hidden state: max abs diff {diff:.2e} (values up to {:.1})", want.abs().max().double_value(&[]));
    assert!(diff < 1e-2, "last hidden state differs from HF's by {diff}");
    // The prompts in one right-padded batch: each row's logits as alone.
    let (batch, mask) = w2s_core::backbone::pad_batch(&rows, &[0, 1, 2], 0, Device::Cpu);
    let batched = model.next_token_logits(&batch, Some(&mask));
    for (i, row) in rows.iter().enumerate() {
        let alone = model.next_token_logits(&Tensor::from_slice(row).unsqueeze(0), None).get(0);
        let diff = (batched.get(i as i64) - alone).abs().max().double_value(&[]);
        assert!(diff < 1e-3, "row {i}: padded batch differs by {diff}");
    }
}
