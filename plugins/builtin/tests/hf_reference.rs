//! w2s's GPT-2, Llama, Qwen2, Gemma 3, BERT and MPNet code checked against Hugging Face's reference
//! implementation: tiny random models saved by transformers 5.24.0 (`modeling_gpt2.py`,
//! `modeling_llama.py`, `modeling_qwen2.py`, `modeling_gemma3.py`, `modeling_bert.py`,
//! `modeling_mpnet.py`; eager
//! attention, float32, torch 2.11.0) with HF's outputs on fixed token ids, in `tests/fixtures/hf/`
//! (made by hand with `scripts/make-hf-fixtures.py`, which says what each file holds). Each fixture is loaded with
//! w2s's own loaders and must match HF to `TOL` (max abs diff) on:
//! - each row alone (no mask) and the right-padded batch (real positions only), final hidden
//!   states and, for decoders, logits;
//! - for decoders, the first block only (`layers = 1`; the same pass through `hidden_at`);
//! - the backbone's probe features of texts, tokenized by w2s (last real token for decoders,
//!   mean pooling for encoders), and the token ids of w2s's tokenizer against HF's;
//! - for MPNet, the relative position buckets against HF's.
//!
//! No Python is needed: the fixtures are committed.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use tch::{nn, Device, Kind, Tensor};
use w2s_builtin::backbones::{
    decoder::HfDecoderParams,
    encoder::{EncoderParams, Family, Pretrained},
    gpt2::{self, Gpt2Backbone},
    hf_decoder::HfDecoder,
    minilm::MiniLmFamily,
    mpnet::{MpNet, MpNetFamily, MpNetParams},
};
use w2s_core::{Backbone, Env, Inputs};
use w2s_models::{
    arch::{
        encoder::{Encoder, EncoderConfig},
        gpt2::Gpt2,
        mpnet::relative_position_bucket,
    },
    format::safetensors::HfCheckpoint,
    load::llama_hf,
    options::{Mode, Pooling},
    tokenize::hf as tokenizer,
    trunk::Trunk,
};

/// The largest absolute difference allowed between w2s's and HF's outputs.
const TOL: f64 = 1e-4;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hf").join(name)
}

/// HF's outputs for a fixture (`reference.safetensors`) and its texts with HF's token ids
/// (`reference.json`).
struct Reference {
    tensors: HashMap<String, Tensor>,
    texts: Vec<String>,
    ids: Vec<Vec<i64>>,
}

impl Reference {
    fn read(dir: &Path) -> Self {
        let tensors = Tensor::read_safetensors(dir.join("reference.safetensors")).unwrap().into_iter().collect();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap()).unwrap();
        let texts = serde_json::from_value(json["texts"].clone()).unwrap();
        let ids = serde_json::from_value(json["ids"].clone()).unwrap();
        Reference { tensors, texts, ids }
    }

    fn get(&self, name: &str) -> &Tensor {
        self.tensors.get(name).unwrap_or_else(|| panic!("reference.safetensors has no `{name}`"))
    }

    /// The rows' lengths, from the mask.
    fn lengths(&self) -> Vec<i64> {
        Vec::<i64>::try_from(self.get("mask").sum_dim_intlist(1, false, Kind::Int64)).unwrap()
    }

    fn texts(&self) -> Vec<&str> {
        self.texts.iter().map(String::as_str).collect()
    }
}

/// Assert that `got` matches `want` (same shape) to `TOL`, where `mask` `[b, t]` (when given)
/// marks the positions compared; print the difference.
fn check(what: &str, got: &Tensor, want: &Tensor, mask: Option<&Tensor>) -> f64 {
    assert_eq!(got.size(), want.size(), "{what}: shapes");
    let diff = (got - want).abs();
    let diff = match mask {
        Some(m) => diff * m.to_kind(Kind::Float).unsqueeze(-1),
        None => diff,
    };
    let d = diff.max().double_value(&[]);
    eprintln!("{what}: max abs diff {d:.3e} (values up to {:.2})", want.abs().max().double_value(&[]));
    assert!(d < TOL, "{what}: w2s differs from HF by {d:.3e} (tolerance {TOL:e})");
    d
}

fn temp_env(dir: &Path) -> Env {
    Env { cache_dir: dir.to_path_buf(), device: Device::Cpu, show_progress: false }
}

/// A decoder loader: the first `layers` blocks (all when `None`) of a checkpoint into a store.
type LoadTrunk = fn(&nn::VarStore, &HfCheckpoint, Option<usize>) -> anyhow::Result<Box<dyn Trunk>>;

/// The checks of a decoder fixture on token ids; the largest difference seen.
fn check_decoder(name: &str, load: LoadTrunk) -> f64 {
    let _guard = tch::no_grad_guard();
    let dir = fixture(name);
    let r = Reference::read(&dir);
    let ck = HfCheckpoint::open(&dir, "fixture").unwrap();
    let model = load(&nn::VarStore::new(Device::Cpu), &ck, None).unwrap();
    let (ids, mask) = (r.get("ids"), r.get("mask"));
    let mut worst = 0f64;
    for (i, len) in r.lengths().into_iter().enumerate() {
        let row = ids.get(i as i64).narrow(0, 0, len).unsqueeze(0);
        let h = model.hidden_states(&row, None);
        worst = worst.max(check(&format!("{name} row {i} alone: hidden"), &h, r.get(&format!("alone.{i}")), None));
    }
    let h = model.hidden_states(ids, Some(mask));
    worst = worst.max(check(&format!("{name} padded batch: hidden"), &h, r.get("hidden"), Some(mask)));
    let logits = model.lm_logits(&h);
    worst = worst.max(check(&format!("{name} padded batch: logits"), &logits, r.get("logits"), Some(mask)));
    // The first block: a one-block load, and the same pass giving both depths.
    let one = load(&nn::VarStore::new(Device::Cpu), &ck, Some(1)).unwrap();
    let h1 = one.hidden_states(ids, Some(mask));
    worst = worst.max(check(&format!("{name} layers = 1: hidden"), &h1, r.get("hidden_1"), Some(mask)));
    let both = model.hidden_at(ids, Some(mask), &[model.depth(), 1]);
    worst = worst.max(check(&format!("{name} hidden_at depth 1"), &both[1], r.get("hidden_1"), Some(mask)));
    worst = worst.max(check(&format!("{name} hidden_at full depth"), &both[0], r.get("hidden"), Some(mask)));
    worst
}

/// A decoder backbone's probe features of the fixture's texts (w2s's tokenizer, padding and
/// last-real-token pooling) against HF's; the difference.
fn check_probe_features(name: &str, backbone: &dyn Backbone) -> f64 {
    let r = Reference::read(&fixture(name));
    let cache = tempfile::tempdir().unwrap();
    let env = temp_env(cache.path());
    let mut model = backbone.build(&env, 2).unwrap();
    let Inputs::Features(f) = model.encode(&r.texts(), &env).unwrap() else { panic!("a probe gives features") };
    check(&format!("{name} probe features of texts"), &f, r.get("text_features"), None)
}

fn probe_params(name: &str) -> HfDecoderParams {
    HfDecoderParams { path: fixture(name).display().to_string(), max_len: 64, ..Default::default() }
}

fn load_gpt2(vs: &nn::VarStore, ck: &HfCheckpoint, layers: Option<usize>) -> anyhow::Result<Box<dyn Trunk>> {
    Ok(Box::new(Gpt2::from_hf(vs, ck, layers)?))
}

fn load_hf_decoder(vs: &nn::VarStore, ck: &HfCheckpoint, layers: Option<usize>) -> anyhow::Result<Box<dyn Trunk>> {
    Ok(Box::new(llama_hf::load(vs, ck, layers)?))
}

/// The fixture's weights as llama.cpp would write them (`model.gguf`, made from
/// `model.safetensors` by `scripts/make-gguf-fixtures.py`), through w2s's GGUF loader.
fn load_gguf_decoder(vs: &nn::VarStore, ck: &HfCheckpoint, layers: Option<usize>) -> anyhow::Result<Box<dyn Trunk>> {
    let g = w2s_models::format::gguf::Gguf::open(&ck.dir.join("model.gguf"))?;
    w2s_models::load::gguf_decoder::trunk(vs, &g, layers)
}

#[test]
fn gguf_copy_of_a_tiny_gemma3_matches_hf() {
    // Made by `scripts/make-gemma3-fixtures.py tiny`: 6 layers (5 sliding-window layers of
    // window 4, then a global one, as llama.cpp's pattern has it), head_dim 16 on hidden 32,
    // grouped-query attention, QK-norm, tied output; norms stored as 1 + w, as llama.cpp does.
    let worst = check_decoder("gemma3", load_gguf_decoder);
    eprintln!("gemma3 from GGUF: largest difference {worst:.3e}");
    // A GGUF that claims an unsupported architecture is named with the supported ones.
    let bytes = std::fs::read(fixture("gemma3").join("model.gguf")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.gguf");
    std::fs::write(&path, replace_all(&bytes, b"gemma3", b"gemma9")).unwrap();
    let g = w2s_models::format::gguf::Gguf::open(&path).unwrap();
    let e = format!("{:#}", w2s_models::load::gguf_decoder::shape(&g).unwrap_err());
    assert!(e.contains("\"gemma9\"") && e.contains("llama, qwen2, qwen3, gemma3") && e.contains("other.gguf"), "{e}");
}

/// A GGUF whose tensor has a quant type w2s does not read: the error names the tensor, its type
/// and the supported ones, and comes when the model loads (before any training).
#[test]
fn an_unsupported_quant_type_is_named_with_the_supported_ones() {
    let mut bytes = std::fs::read(fixture("gemma3").join("model.gguf")).unwrap();
    let name = b"blk.0.attn_q.weight";
    let at = bytes.windows(name.len()).position(|w| w == name).expect("the tensor's info");
    // After the name: n_dims (u32, here 2), two u64 dims, then the ggml type (u32).
    let kind = at + name.len() + 4 + 16;
    assert_eq!(u32::from_le_bytes(bytes[kind..kind + 4].try_into().unwrap()), 0, "F32 in the fixture");
    bytes[kind..kind + 4].copy_from_slice(&16u32.to_le_bytes()); // IQ2_XXS
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iq2.gguf");
    std::fs::write(&path, bytes).unwrap();
    let err = match w2s_models::format::gguf::Gguf::open(&path) {
        Err(e) => format!("{e:#}"),
        Ok(g) => format!(
            "{:#}",
            w2s_models::load::gguf_decoder::trunk(&nn::VarStore::new(Device::Cpu), &g, None).err().unwrap()
        ),
    };
    assert!(err.contains("blk.0.attn_q.weight") && err.contains("IQ2_XXS") && err.contains("supported: F32"), "{err}");
}

/// `bytes` with every `from` replaced by `to` (of the same length).
fn replace_all(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for i in 0..b.len().saturating_sub(from.len() - 1) {
        if &b[i..i + from.len()] == from {
            b[i..i + from.len()].copy_from_slice(to);
        }
    }
    b
}

#[test]
fn gguf_copies_of_llama_and_qwen2_match_hf() {
    // llama: Q/K rows permuted by the conversion and un-permuted by the loader; qwen2: unpermuted,
    // with Q/K/V biases, tied embeddings.
    for name in ["llama", "qwen2"] {
        let worst = check_decoder(name, load_gguf_decoder);
        eprintln!("{name} from GGUF: largest difference {worst:.3e}");
    }
    // The same file claiming another architecture (every `qwen2` in it renamed) is refused,
    // naming what it is and what is read.
    // The qwen2 copy carries the fixture's tokenizer as llama.cpp writes it (`pre = qwen2`):
    // w2s's GGUF tokenizer gives HF's ids.
    let g = w2s_models::format::gguf::Gguf::open(&fixture("qwen2").join("model.gguf")).unwrap();
    let r = Reference::read(&fixture("qwen2"));
    let tok = w2s_models::tokenize::gguf::load(&g).unwrap();
    assert_eq!(w2s_models::tokenize::gguf::encode(&tok, &r.texts(), 1000).unwrap(), r.ids, "qwen2 GGUF token ids");
    let bytes = std::fs::read(fixture("qwen2").join("model.gguf")).unwrap();
    let renamed = replace_all(&bytes, b"qwen2", b"mamba");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.gguf");
    std::fs::write(&path, renamed).unwrap();
    let g = w2s_models::format::gguf::Gguf::open(&path).unwrap();
    let e = format!("{:#}", w2s_models::arch::llama::LlamaConfig::from_gguf(&g).unwrap_err());
    assert!(e.contains("\"mamba\"") && e.contains("llama, qwen2") && e.contains("other.gguf"), "{e}");
}

/// The token ids of w2s's tokenizer for a decoder fixture (special tokens added) are HF's.
fn check_decoder_tokens(name: &str, tok: &tokenizers::Tokenizer) {
    let r = Reference::read(&fixture(name));
    assert_eq!(tokenizer::encode_prefix(tok, &r.texts(), 1000).unwrap(), r.ids, "{name}: token ids");
}

#[test]
fn gpt2_matches_hf() {
    let worst = check_decoder("gpt2", load_gpt2);
    let params = probe_params("gpt2");
    let worst = worst.max(check_probe_features("gpt2", &Gpt2Backbone::new(params).unwrap()));
    let cache = tempfile::tempdir().unwrap();
    let (tok, source) = gpt2::tokenizer(&fixture("gpt2"), &temp_env(cache.path())).unwrap();
    assert_eq!(source, "tokenizer.json");
    check_decoder_tokens("gpt2", &tok);
    eprintln!("gpt2: largest difference {worst:.3e}");
}

/// Llama with grouped-query attention (4 query heads, 2 KV heads) and an own `lm_head`.
#[test]
fn llama_matches_hf() {
    let worst = check_decoder("llama", load_hf_decoder);
    let worst = worst.max(check_probe_features("llama", &HfDecoder::new(probe_params("llama")).unwrap()));
    check_decoder_tokens("llama", &tokenizer::load(&fixture("llama").join("tokenizer.json")).unwrap());
    eprintln!("llama: largest difference {worst:.3e}");
}

/// Llama 3.x's RoPE scaling (`rope_type: llama3`; of the 4 frequencies one kept, one blended,
/// two divided), from the HF folder and from its GGUF copy (llama.cpp's `rope_freqs` divisors).
/// Without the scaling the outputs are far from HF's, so the fixture does test it.
#[test]
fn llama3_rope_scaling_matches_hf() {
    let worst = check_decoder("llama3-rope", load_hf_decoder).max(check_decoder("llama3-rope", load_gguf_decoder));
    eprintln!("llama3-rope: largest difference {worst:.3e}");
    let dir = fixture("llama3-rope");
    let ck = HfCheckpoint::open(&dir, "fixture").unwrap();
    let mut cfg = llama_hf::llama_config(&ck).unwrap();
    assert!(matches!(cfg.rope_scaling, w2s_models::rope::RopeScaling::Llama3 { factor: 8.0, .. }));
    cfg.rope_scaling = w2s_models::rope::RopeScaling::None;
    let mut init = |name: &str, dims: &[i64]| ck.tensor(&[name.to_string()], dims);
    let _guard = tch::no_grad_guard();
    let unscaled = w2s_models::arch::llama::Llama::new(nn::VarStore::new(Device::Cpu).root(), &cfg, &mut init).unwrap();
    let r = Reference::read(&dir);
    let h = unscaled.hidden_states(r.get("ids"), Some(r.get("mask")));
    let diff = ((h - r.get("hidden")).abs() * r.get("mask").to_kind(Kind::Float).unsqueeze(-1)).max().double_value(&[]);
    assert!(
        diff > 100.0 * TOL,
        "unscaled RoPE is as close to HF as scaled ({diff:.2e}): the fixture does not test scaling"
    );
}

/// Llama with `attention_bias = true` (biases on q/k/v and o_proj), one block, tied output,
/// rope_theta 500000.
#[test]
fn llama_with_attention_bias_matches_hf() {
    let dir = fixture("llama-attention-bias");
    let r = Reference::read(&dir);
    let _guard = tch::no_grad_guard();
    let ck = HfCheckpoint::open(&dir, "fixture").unwrap();
    let model = load_hf_decoder(&nn::VarStore::new(Device::Cpu), &ck, None).unwrap();
    let (ids, mask) = (r.get("ids"), r.get("mask"));
    let h = model.hidden_states(ids, Some(mask));
    let mut worst = check("llama-attention-bias padded batch: hidden", &h, r.get("hidden"), Some(mask));
    let logits = model.lm_logits(&h);
    worst = worst.max(check("llama-attention-bias padded batch: logits", &logits, r.get("logits"), Some(mask)));
    let backbone = HfDecoder::new(probe_params("llama-attention-bias")).unwrap();
    worst = worst.max(check_probe_features("llama-attention-bias", &backbone));
    eprintln!("llama-attention-bias: largest difference {worst:.3e}");
}

/// Qwen2: Q/K/V biases, tied output, rope_theta 1e6 (in transformers 5's `rope_parameters`).
#[test]
fn qwen2_matches_hf() {
    let worst = check_decoder("qwen2", load_hf_decoder);
    let worst = worst.max(check_probe_features("qwen2", &HfDecoder::new(probe_params("qwen2")).unwrap()));
    check_decoder_tokens("qwen2", &tokenizer::load(&fixture("qwen2").join("tokenizer.json")).unwrap());
    eprintln!("qwen2: largest difference {worst:.3e}");
}

/// Qwen3: QK-norm, heads of width 16 (4 × 16 = 64 on hidden 32), no biases, tied output; from
/// the HF folder and from its GGUF copy (`qwen3` architecture, `attention.key_length`).
#[test]
fn qwen3_matches_hf() {
    let worst = check_decoder("qwen3", load_hf_decoder).max(check_decoder("qwen3", load_gguf_decoder));
    let worst = worst.max(check_probe_features("qwen3", &HfDecoder::new(probe_params("qwen3")).unwrap()));
    check_decoder_tokens("qwen3", &tokenizer::load(&fixture("qwen3").join("tokenizer.json")).unwrap());
    eprintln!("qwen3: largest difference {worst:.3e}");
}

/// The checks of an encoder fixture, loaded as its backbone loads it (config.json into the
/// encoder's config, `model.safetensors` into a store): each row alone and the padded batch, the
/// token ids of w2s's tokenizer, and the backbone's mean-pooled probe features of texts. Then
/// what the encoder does not implement (each `refused` config change) is refused, not silently
/// computed otherwise. The largest difference seen.
fn check_encoder<F: Family>(name: &str, refused: &[(&str, serde_json::Value)]) -> f64 {
    let dir = fixture(name);
    let r = Reference::read(&dir);
    let config = std::fs::read_to_string(dir.join("config.json")).unwrap();
    let cfg: <F::Encoder as Encoder>::Config = serde_json::from_str(&config).unwrap();
    let mut worst = 0f64;
    {
        let _guard = tch::no_grad_guard();
        let mut vs = nn::VarStore::new(Device::Cpu);
        let model = F::Encoder::build(vs.root(), &cfg);
        vs.load(dir.join("model.safetensors")).unwrap();
        let (ids, mask) = (r.get("ids"), r.get("mask"));
        for (i, len) in r.lengths().into_iter().enumerate() {
            let row = ids.get(i as i64).narrow(0, 0, len).unsqueeze(0);
            let h = model.hidden_states(&row, &Tensor::ones_like(&row)).unwrap();
            worst = worst.max(check(&format!("{name} row {i} alone: hidden"), &h, r.get(&format!("alone.{i}")), None));
        }
        let h = model.hidden_states(ids, mask).unwrap();
        worst = worst.max(check(&format!("{name} padded batch: hidden"), &h, r.get("hidden"), Some(mask)));
    }
    let tok = tokenizer::load(&dir.join("tokenizer.json")).unwrap();
    assert_eq!(tokenizer::encode(&tok, &r.texts(), 64).unwrap(), r.ids, "{name}: token ids");
    let params = EncoderParams::<F> {
        path: dir.display().to_string(),
        mode: Mode::Probe,
        pooling: Pooling::Mean,
        max_len: 64.min(cfg.max_tokens() as usize),
        ..Default::default()
    };
    let cache = tempfile::tempdir().unwrap();
    let env = temp_env(cache.path());
    let mut model = Pretrained::new(params).unwrap().build(&env, 2).unwrap();
    let Inputs::Features(f) = model.encode(&r.texts(), &env).unwrap() else { panic!("a probe gives features") };
    worst =
        worst.max(check(&format!("{name} probe features of texts (mean pooling)"), &f, r.get("text_features"), None));
    for (key, value) in refused {
        let other = cache.path().join(key);
        std::fs::create_dir_all(&other).unwrap();
        for f in ["model.safetensors", "tokenizer.json"] {
            std::fs::copy(dir.join(f), other.join(f)).unwrap();
        }
        let mut config: serde_json::Value = serde_json::from_str(&config).unwrap();
        config[key] = value.clone();
        std::fs::write(other.join("config.json"), config.to_string()).unwrap();
        let params = EncoderParams::<F> { path: other.display().to_string(), ..Default::default() };
        let err = format!("{:#}", Pretrained::new(params).unwrap().build(&env, 2).err().unwrap());
        let value = value.as_str().map(String::from).unwrap_or_else(|| value.to_string());
        assert!(err.contains(&format!("{key} `{value}` is not supported")), "{err}");
    }
    worst
}

/// BERT (`BertModel`), as the `minilm` backbone loads it.
#[test]
fn bert_matches_hf() {
    let refused = [("hidden_act", "relu".into()), ("position_embedding_type", "relative_key".into())];
    let worst = check_encoder::<MiniLmFamily>("bert", &refused);
    eprintln!("bert: largest difference {worst:.3e}");
}

/// MPNet (`MPNetModel`), as the `mpnet` backbone loads it: RoBERTa-style positions (the fixture's
/// row 2 holds a real token of the padding id 1, which HF's positions skip), the shared relative
/// position bias, no token types; batches padded with id 1.
#[test]
fn mpnet_matches_hf() {
    let refused = [("hidden_act", "relu".into()), ("relative_attention_num_buckets", 64.into())];
    let worst = check_encoder::<MpNetFamily>("mpnet", &refused);
    eprintln!("mpnet: largest difference {worst:.3e}");
}

/// MPNet's relative position buckets of every relative position in -200..=200 are HF's (the
/// exact, the logarithmic and the clamped ranges of both directions, and the boundaries of the
/// logarithmic range, which fall by float32 rounding).
#[test]
fn mpnet_relative_position_buckets_match_hf() {
    let r = Reference::read(&fixture("mpnet"));
    let relative = Tensor::arange_start(-200, 201, (Kind::Int64, Device::Cpu));
    let got = Vec::<i64>::try_from(relative_position_bucket(&relative).unwrap()).unwrap();
    let want = Vec::<i64>::try_from(r.get("buckets")).unwrap();
    assert_eq!(got, want);
}

/// A `max_len` longer than the checkpoint has positions for is refused when the backbone loads.
#[test]
fn mpnet_max_len_beyond_its_positions_is_refused() {
    let cache = tempfile::tempdir().unwrap();
    let params = MpNetParams { path: fixture("mpnet").display().to_string(), max_len: 100, ..Default::default() };
    let err = format!("{:#}", MpNet::new(params).unwrap().build(&temp_env(cache.path()), 2).err().unwrap());
    assert!(err.contains("max_len 100 is more than the 62 tokens"), "{err}");
}
