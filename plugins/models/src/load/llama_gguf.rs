//! A llama-type decoder ([`Llama`]) read from a GGUF file (llama.cpp's format; see
//! `format::gguf`) of architecture `llama`, `qwen2` or `qwen3`: its shape from the `{arch}.*` metadata,
//! its weights under llama.cpp's tensor names (`blk.N.attn_q.weight`, `blk.N.attn_q.bias`, ...)
//! mapped to HF's. For `llama`, llama.cpp's `convert_hf_to_gguf.py` permutes the rows of Q and K
//! for its adjacent-pair RoPE; loading un-permutes them into HF's layout, so the model applies
//! HF's rotate-half RoPE. `qwen2` is stored unpermuted (llama.cpp runs it with NEOX RoPE, which is
//! rotate-half) and has Q/K/V biases; `qwen3` likewise, with QK-norm (`attn_q_norm`, `attn_k_norm`)
//! and its head width from `qwen3.attention.key_length`. Checked against HF on the tiny fixtures converted by
//! `scripts/make-gguf-fixtures.py` (`w2s-builtin`'s `tests/hf_reference.rs`).

use std::path::Path;

use anyhow::{ensure, Context};
use tch::{nn, Device, Tensor};

use crate::{
    arch::llama::{Llama, LlamaConfig},
    format::gguf::Gguf,
    rope::RopeScaling,
};

impl LlamaConfig {
    /// From the `llama.*` metadata of a GGUF file.
    pub fn from_gguf(g: &Gguf) -> anyhow::Result<Self> {
        let arch = g.get_str("general.architecture")?;
        ensure!(
            GGUF_ARCHITECTURES.contains(&arch),
            "{}: general.architecture is {arch:?}, which this loader does not read (supported: {})",
            g.path.display(),
            GGUF_ARCHITECTURES.join(", ")
        );
        let int = |k: &str| g.get_u64(&format!("{arch}.{k}")).map(|v| v as i64);
        let cfg = LlamaConfig {
            vocab_size: gguf_vocab_size(g, arch)?,
            hidden_size: int("embedding_length")?,
            intermediate_size: int("feed_forward_length")?,
            num_hidden_layers: int("block_count")?,
            num_attention_heads: int("attention.head_count")?,
            num_key_value_heads: int("attention.head_count_kv")?,
            rope_theta: g.get_f64(&format!("{arch}.rope.freq_base")).unwrap_or(10_000.0),
            rms_norm_eps: g.get_f64(&format!("{arch}.attention.layer_norm_rms_epsilon"))?,
            tie_word_embeddings: g.info("output.weight").is_none(),
            attention_bias: g.info("blk.0.attn_q.bias").is_some(),
            o_proj_bias: false,
            context_length: int("context_length").ok(),
            rope_scaling: gguf_rope_scaling(g, arch)?,
            head_dim: int("attention.key_length").ok(),
            qk_norm: g.info("blk.0.attn_q_norm.weight").is_some(),
        };
        cfg.check(&g.path)?;
        Ok(cfg)
    }
}

impl Llama {
    /// Build the first `layers` blocks (all when `None`) of the model in GGUF file `g` in the root
    /// of `vs`, with its weights. Other variables of `vs` (a head) are left alone.
    pub fn from_gguf(vs: &nn::VarStore, g: &Gguf, layers: Option<usize>) -> anyhow::Result<Self> {
        let mut cfg = LlamaConfig::from_gguf(g)?;
        cfg.num_hidden_layers = super::depth(layers, cfg.num_hidden_layers, &g.path)?;
        let names = cfg.clone();
        // Only llama.cpp's `llama` conversion permutes Q and K.
        let permuted = g.get_str("general.architecture")? == "llama";
        let mut init = |name: &str, _: &[i64]| {
            let (tensor, permute) =
                gguf_name(name, &names, permuted).with_context(|| format!("no GGUF tensor for {name}"))?;
            let w = g.tensor(&tensor)?;
            Ok(match permute {
                Some(heads) => {
                    let rows = w.size().first().copied().unwrap_or(0);
                    ensure!(
                        (1..=2).contains(&w.dim()) && heads > 0 && rows % (2 * heads) == 0,
                        "{tensor}: shape {:?} is not {heads} heads of rotary pairs",
                        w.size()
                    );
                    if w.dim() == 1 {
                        unpermute_rows(&w.unsqueeze(1), heads).squeeze_dim(1)
                    } else {
                        unpermute_rows(&w, heads)
                    }
                }
                None => w,
            })
        };
        Llama::new(vs.root(), &cfg, &mut init).with_context(|| format!("loading {}", g.path.display()))
    }

    /// The model in GGUF file `path` (first `layers` blocks, or all), on the CPU.
    pub fn load(path: &Path, layers: Option<usize>) -> anyhow::Result<(nn::VarStore, Llama)> {
        let g = Gguf::open(path)?;
        let vs = nn::VarStore::new(Device::Cpu);
        let model = Llama::from_gguf(&vs, &g, layers)?;
        Ok((vs, model))
    }
}

/// The vocabulary size of a GGUF decoder: `{arch}.vocab_size`, else the tokenizer's token count.
pub fn gguf_vocab_size(g: &Gguf, arch: &str) -> anyhow::Result<i64> {
    Ok(match g.get_u64(&format!("{arch}.vocab_size")) {
        Ok(v) => v as i64,
        Err(_) => g.get_array("tokenizer.ggml.tokens")?.len() as i64,
    })
}

/// The RoPE scaling of a GGUF file: llama.cpp's `rope_freqs.weight` divisors (how its converter
/// stores Llama 3.x's `rope_scaling`), else `{arch}.rope.scaling.type` `linear` with
/// `{arch}.rope.scaling.factor`; other scaling types are refused.
pub fn gguf_rope_scaling(g: &Gguf, arch: &str) -> anyhow::Result<RopeScaling> {
    if g.info("rope_freqs.weight").is_some() {
        let d = Vec::<f32>::try_from(g.tensor("rope_freqs.weight")?.flatten(0, -1))?;
        return Ok(RopeScaling::Divisors(d.into_iter().map(f64::from).collect()));
    }
    match g.get_str(&format!("{arch}.rope.scaling.type")) {
        Err(_) | Ok("none") => Ok(RopeScaling::None),
        Ok("linear") => Ok(RopeScaling::Linear { factor: g.get_f64(&format!("{arch}.rope.scaling.factor"))? }),
        Ok(other) => anyhow::bail!(
            "{}: {arch}.rope.scaling.type is {other:?}, which w2s does not read (supported: none, linear, \
             and llama.cpp's rope_freqs tensor)",
            g.path.display()
        ),
    }
}

/// The GGUF architectures this loader reads.
pub const GGUF_ARCHITECTURES: [&str; 3] = ["llama", "qwen2", "qwen3"];

/// The GGUF tensor of an HF parameter name, and the head count whose rows to un-permute (when
/// the file is `permuted`, as llama.cpp writes `llama` models).
fn gguf_name(name: &str, cfg: &LlamaConfig, permuted: bool) -> Option<(String, Option<i64>)> {
    let fixed = match name {
        "model.embed_tokens.weight" => Some("token_embd.weight"),
        "model.norm.weight" => Some("output_norm.weight"),
        "lm_head.weight" => Some("output.weight"),
        _ => None,
    };
    if let Some(f) = fixed {
        return Some((f.to_string(), None));
    }
    let rest = name.strip_prefix("model.layers.")?;
    let (n, param) = rest.split_once('.')?;
    let (module, kind) = param.rsplit_once('.')?;
    let (q_heads, k_heads) =
        if permuted { (Some(cfg.num_attention_heads), Some(cfg.num_key_value_heads)) } else { (None, None) };
    let (g, permute) = match module {
        "self_attn.q_proj" => ("attn_q", q_heads),
        "self_attn.k_proj" => ("attn_k", k_heads),
        "self_attn.v_proj" => ("attn_v", None),
        "self_attn.o_proj" => ("attn_output", None),
        "mlp.gate_proj" => ("ffn_gate", None),
        "mlp.up_proj" => ("ffn_up", None),
        "mlp.down_proj" => ("ffn_down", None),
        "input_layernorm" => ("attn_norm", None),
        "post_attention_layernorm" => ("ffn_norm", None),
        "self_attn.q_norm" => ("attn_q_norm", None),
        "self_attn.k_norm" => ("attn_k_norm", None),
        _ => return None,
    };
    matches!(kind, "weight" | "bias").then(|| (format!("blk.{n}.{g}.{kind}"), permute))
}

/// Undo llama.cpp's Q/K permutation: GGUF row `h*hd + 2i + j` is HF row `h*hd + j*hd/2 + i` (`w`
/// a matrix whose rows are `heads` heads of pairs).
fn unpermute_rows(w: &Tensor, heads: i64) -> Tensor {
    let (rows, cols) = w.size2().expect("a matrix");
    w.view([heads, rows / heads / 2, 2, cols]).transpose(1, 2).reshape([rows, cols])
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::{testing::smollm2, tokenize::gguf as gguf_tokenizer};

    #[test]
    fn unpermute_interleaved_pairs_into_halves() {
        // One head of dim 4: GGUF rows (a0, b0, a1, b1) become HF rows (a0, a1, b0, b1).
        let w = Tensor::from_slice(&[0f32, 10., 1., 11.]).view([4, 1]);
        let hf = Vec::<f32>::try_from(unpermute_rows(&w, 1).flatten(0, -1)).unwrap();
        assert_eq!(hf, [0., 1., 10., 11.]);
    }

    #[test]
    fn smollm2_knows_paris_and_counts() {
        let t0 = Instant::now();
        let g = smollm2();
        eprintln!("GGUF read and parsed in {:.2?} (if this test opened it first)", t0.elapsed());
        let cfg = LlamaConfig::from_gguf(g).unwrap();
        assert_eq!((cfg.num_hidden_layers, cfg.hidden_size, cfg.num_key_value_heads), (30, 576, 3));
        assert!(cfg.tie_word_embeddings);
        let t0 = Instant::now();
        let vs = nn::VarStore::new(Device::Cpu);
        let model = Llama::from_gguf(&vs, g, None).unwrap();
        eprintln!("weights loaded in {:.2?}", t0.elapsed());
        let tok = gguf_tokenizer::load(g).unwrap();
        let prompts = ["The capital of France is", "One, two, three, four,"];
        let ids = gguf_tokenizer::encode(&tok, &prompts, 64).unwrap();
        let _guard = tch::no_grad_guard();
        let mut answers = Vec::new();
        for row in &ids {
            let logits = model.next_token_logits(&Tensor::from_slice(row).unsqueeze(0), None);
            answers.push(tok.decode(&[logits.argmax(-1, false).int64_value(&[0]) as u32], false).unwrap());
        }
        assert_eq!(answers, [" Paris", " five"]);
        // The same in one right-padded batch, and equal logits.
        let (batch, mask) = w2s_core::backbone::pad_batch(&ids, &[0, 1], 2, Device::Cpu);
        let logits = model.next_token_logits(&batch, Some(&mask));
        for (i, row) in ids.iter().enumerate() {
            let alone = model.next_token_logits(&Tensor::from_slice(row).unsqueeze(0), None);
            let diff = (logits.get(i as i64) - alone.get(0)).abs().max().double_value(&[]);
            assert!(diff < 1e-3, "row {i}: padded batch differs by {diff}");
        }
        let sentences: Vec<String> = (0..8).map(|i| format!("Sentence number {i} is about a cat on a mat.")).collect();
        let refs: Vec<&str> = sentences.iter().map(|s| s.as_str()).collect();
        let ids = gguf_tokenizer::encode(&tok, &refs, 64).unwrap();
        let (batch, mask) = w2s_core::backbone::pad_batch(&ids, &(0..8).collect::<Vec<_>>(), 2, Device::Cpu);
        for _ in 0..2 {
            let t0 = Instant::now();
            let _ = model.forward(&batch, Some(&mask));
            eprintln!("forward of 8 sentences ({:?} tokens) in {:.2?}", batch.size(), t0.elapsed());
        }
        let h = model.forward(&batch, Some(&mask));
        assert_eq!(h.size(), [8, batch.size()[1], 576]);
    }

    #[test]
    fn truncated_depth_and_bad_depth() {
        let g = smollm2();
        let vs = nn::VarStore::new(Device::Cpu);
        let model = Llama::from_gguf(&vs, g, Some(2)).unwrap();
        assert_eq!(model.blocks.len(), 2);
        assert!(!vs.variables().keys().any(|k| k.starts_with("model.layers.2.")));
        let h = model.forward(&Tensor::from_slice(&[504i64, 3458]).unsqueeze(0), None);
        assert_eq!(h.size(), [1, 2, 576]);
        let err = Llama::from_gguf(&nn::VarStore::new(Device::Cpu), g, Some(31)).err().unwrap().to_string();
        assert!(err.contains("31") && err.contains("30 blocks"), "{err}");
    }
}
