//! A llama-type decoder (Touvron et al. 2023, "LLaMA: Open and Efficient Foundation Language
//! Models"): RMSNorm, rotary position embeddings (Su et al. 2021, RoFormer), grouped-query
//! attention (Ainslie et al. 2023) and a SwiGLU MLP, with HF parameter names (`model.layers.N.*`,
//! `lm_head.weight` unless tied to `model.embed_tokens.weight`). Weights load from a GGUF file;
//! GGUF stores Q/K rows permuted for llama.cpp's adjacent-pair RoPE, and loading un-permutes them
//! into HF's layout, so this model applies HF's rotate-half RoPE. HF safetensors checkpoints (not
//! permuted; Qwen2's Q/K/V biases and llama's `attention_bias`, which also gives `o_proj` a
//! bias, included) load through `hf_decoder`. Checked against HF transformers 5.24.0's
//! `modeling_llama.py` and `modeling_qwen2.py` by `tests/hf_reference.rs`.

use std::{ops::Range, path::Path};

use anyhow::{ensure, Context};
use tch::{nn, nn::Module, Device, Kind, Tensor};

use super::gguf::Gguf;

/// The shape of a llama-type model.
#[derive(Debug, Clone, PartialEq)]
pub struct LlamaConfig {
    pub vocab_size: i64,
    pub hidden_size: i64,
    pub intermediate_size: i64,
    pub num_hidden_layers: i64,
    pub num_attention_heads: i64,
    pub num_key_value_heads: i64,
    pub rope_theta: f64,
    pub rms_norm_eps: f64,
    pub tie_word_embeddings: bool,
    /// Q/K/V projections have biases (Qwen2; llama's `attention_bias`).
    pub attention_bias: bool,
    /// The attention output projection `o_proj` has a bias (llama's `attention_bias`, not Qwen2).
    pub o_proj_bias: bool,
    /// The longest sequence it was trained on (`llama.context_length`, `max_position_embeddings`).
    pub context_length: Option<i64>,
}

impl LlamaConfig {
    /// From the `llama.*` metadata of a GGUF file.
    pub fn from_gguf(g: &Gguf) -> anyhow::Result<Self> {
        let arch = g.get_str("general.architecture")?;
        ensure!(arch == "llama", "{}: general.architecture is {arch:?}, not llama", g.path.display());
        let int = |k: &str| g.get_u64(&format!("llama.{k}")).map(|v| v as i64);
        let vocab_size = match g.get_u64("llama.vocab_size") {
            Ok(v) => v as i64,
            Err(_) => g.get_array("tokenizer.ggml.tokens")?.len() as i64,
        };
        let cfg = LlamaConfig {
            vocab_size,
            hidden_size: int("embedding_length")?,
            intermediate_size: int("feed_forward_length")?,
            num_hidden_layers: int("block_count")?,
            num_attention_heads: int("attention.head_count")?,
            num_key_value_heads: int("attention.head_count_kv")?,
            rope_theta: g.get_f64("llama.rope.freq_base").unwrap_or(10_000.0),
            rms_norm_eps: g.get_f64("llama.attention.layer_norm_rms_epsilon")?,
            tie_word_embeddings: g.info("output.weight").is_none(),
            attention_bias: false,
            o_proj_bias: false,
            context_length: int("context_length").ok(),
        };
        cfg.check(&g.path)?;
        Ok(cfg)
    }

    /// Check that the head counts divide the hidden size (`source` for messages).
    pub fn check(&self, source: &Path) -> anyhow::Result<()> {
        let h = self.num_attention_heads;
        ensure!(
            h > 0 && self.hidden_size % h == 0 && self.num_key_value_heads > 0 && h % self.num_key_value_heads == 0,
            "{}: {} query heads and {} KV heads do not divide hidden size {}",
            source.display(),
            h,
            self.num_key_value_heads,
            self.hidden_size
        );
        Ok(())
    }

    pub fn head_dim(&self) -> i64 {
        self.hidden_size / self.num_attention_heads
    }
}

/// Root-mean-square layer norm (Zhang & Sennrich 2019), weight only.
#[derive(Debug)]
struct RmsNorm {
    weight: Tensor,
    eps: f64,
}

impl RmsNorm {
    fn new(p: nn::Path<'_>, d: i64, eps: f64, init: &mut Init<'_>) -> anyhow::Result<Self> {
        Ok(RmsNorm { weight: param(&p, "weight", &[d], init)?, eps })
    }
}

impl Module for RmsNorm {
    /// Normalised in f32 whatever the input's precision; the output has the input's precision.
    fn forward(&self, x: &Tensor) -> Tensor {
        let xf = x.to_kind(Kind::Float);
        let ms = xf.square().mean_dim(-1, true, Kind::Float);
        (xf * (ms + self.eps).rsqrt()).to_kind(x.kind()) * &self.weight
    }
}

/// Gives each parameter its value, from its full name and shape.
pub type Init<'a> = dyn FnMut(&str, &[i64]) -> anyhow::Result<Tensor> + 'a;

/// The trainable parameter `name` under `p`, valued by `init` (no copy: the tensor is stored).
pub(crate) fn param(p: &nn::Path<'_>, name: &str, dims: &[i64], init: &mut Init<'_>) -> anyhow::Result<Tensor> {
    let full = p.path(name);
    let t = init(&full, dims)?;
    ensure!(t.size() == dims, "{full}: shape {:?}, expected {dims:?}", t.size());
    let t = t.f_to_device(p.device())?.f_to_kind(Kind::Float)?;
    Ok(p.add(name, t, true))
}

/// A bias-free linear layer `i -> o`.
fn linear(p: nn::Path<'_>, i: i64, o: i64, init: &mut Init<'_>) -> anyhow::Result<nn::Linear> {
    linear_b(p, i, o, false, init)
}

/// A linear layer `i -> o` with a bias when `bias`.
fn linear_b(p: nn::Path<'_>, i: i64, o: i64, bias: bool, init: &mut Init<'_>) -> anyhow::Result<nn::Linear> {
    let bs = if bias { Some(param(&p, "bias", &[o], init)?) } else { None };
    Ok(nn::Linear { ws: param(&p, "weight", &[o, i], init)?, bs })
}

/// Causal attention of `q` `[b, h, t, hd]` over `k`, `v` `[b, kv_h, t, hd]` (grouped when
/// `kv_h < h`), where `attend` (from [`padding_mask`]) allows it, or plainly causal when `None`.
pub(crate) fn causal_attention(q: &Tensor, k: &Tensor, v: &Tensor, attend: Option<&Tensor>) -> Tensor {
    Tensor::scaled_dot_product_attention(q, k, v, attend, 0.0, attend.is_none(), None, true)
}

/// The boolean `[b, 1, t, t]` causal mask that also hides right padding (0/1 `mask` `[b, t]`);
/// `None` when every position is real.
pub(crate) fn padding_mask(mask: Option<&Tensor>, b: i64, t: i64, device: Device) -> Option<Tensor> {
    mask.map(|m| {
        let causal = Tensor::ones([t, t], (Kind::Bool, device)).tril(0);
        causal.logical_and(&m.to_kind(Kind::Bool).view([b, 1, 1, t]))
    })
}

/// HF's rotate-half RoPE: `cos`, `sin` are `[t, head_dim]` (the half-size angles repeated).
fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Tensor {
    let halves = x.chunk(2, -1);
    let rotated = Tensor::cat(&[halves[1].neg(), halves[0].shallow_clone()], -1);
    x * cos.to_kind(x.kind()) + rotated * sin.to_kind(x.kind())
}

struct Block {
    q: nn::Linear,
    k: nn::Linear,
    v: nn::Linear,
    o: nn::Linear,
    gate: nn::Linear,
    up: nn::Linear,
    down: nn::Linear,
    attn_norm: RmsNorm,
    mlp_norm: RmsNorm,
    heads: i64,
    kv_heads: i64,
}

impl Block {
    fn new(p: nn::Path<'_>, cfg: &LlamaConfig, init: &mut Init<'_>) -> anyhow::Result<Self> {
        let (d, f, hd, bias) = (cfg.hidden_size, cfg.intermediate_size, cfg.head_dim(), cfg.attention_bias);
        let att = &p / "self_attn";
        let mlp = &p / "mlp";
        Ok(Block {
            q: linear_b(&att / "q_proj", d, cfg.num_attention_heads * hd, bias, init)?,
            k: linear_b(&att / "k_proj", d, cfg.num_key_value_heads * hd, bias, init)?,
            v: linear_b(&att / "v_proj", d, cfg.num_key_value_heads * hd, bias, init)?,
            o: linear_b(&att / "o_proj", cfg.num_attention_heads * hd, d, cfg.o_proj_bias, init)?,
            gate: linear(&mlp / "gate_proj", d, f, init)?,
            up: linear(&mlp / "up_proj", d, f, init)?,
            down: linear(&mlp / "down_proj", f, d, init)?,
            attn_norm: RmsNorm::new(&p / "input_layernorm", d, cfg.rms_norm_eps, init)?,
            mlp_norm: RmsNorm::new(&p / "post_attention_layernorm", d, cfg.rms_norm_eps, init)?,
            heads: cfg.num_attention_heads,
            kv_heads: cfg.num_key_value_heads,
        })
    }

    /// `x` `[b, t, d]`; `attend` `[b, 1, t, t]` boolean, or `None` for plain causal attention.
    fn forward(&self, x: &Tensor, cos: &Tensor, sin: &Tensor, attend: Option<&Tensor>) -> Tensor {
        let (b, t, _) = x.size3().expect("[batch, tokens, hidden]");
        let h = self.attn_norm.forward(x);
        let split = |y: Tensor, heads: i64| y.view([b, t, heads, -1]).transpose(1, 2);
        let q = rope(&split(self.q.forward(&h), self.heads), cos, sin);
        let k = rope(&split(self.k.forward(&h), self.kv_heads), cos, sin);
        let v = split(self.v.forward(&h), self.kv_heads);
        let ctx = causal_attention(&q, &k, &v, attend);
        let x = x + self.o.forward(&ctx.transpose(1, 2).reshape([b, t, -1]));
        let h = self.mlp_norm.forward(&x);
        &x + self.down.forward(&(self.gate.forward(&h).silu() * self.up.forward(&h)))
    }
}

/// The decoder: embeddings, blocks, final norm and (tied or own) output layer.
pub struct Llama {
    embed: Tensor,
    blocks: Vec<Block>,
    norm: RmsNorm,
    lm_head: Option<nn::Linear>,
    pub config: LlamaConfig,
}

impl Llama {
    /// Create the parameters under `p` (the store's root gives HF names), valued by `init`.
    pub fn new(p: nn::Path<'_>, cfg: &LlamaConfig, init: &mut Init<'_>) -> anyhow::Result<Self> {
        let m = &p / "model";
        let d = cfg.hidden_size;
        Ok(Llama {
            embed: param(&(&m / "embed_tokens"), "weight", &[cfg.vocab_size, d], init)?,
            blocks: (0..cfg.num_hidden_layers)
                .map(|i| Block::new(&m / "layers" / i, cfg, init))
                .collect::<anyhow::Result<_>>()?,
            norm: RmsNorm::new(&m / "norm", d, cfg.rms_norm_eps, init)?,
            lm_head: match cfg.tie_word_embeddings {
                true => None,
                false => Some(linear(&p / "lm_head", d, cfg.vocab_size, init)?),
            },
            config: cfg.clone(),
        })
    }

    /// Build the first `layers` blocks (all when `None`) of the model in GGUF file `g` in the root
    /// of `vs`, with its weights. Other variables of `vs` (a head) are left alone.
    pub fn from_gguf(vs: &nn::VarStore, g: &Gguf, layers: Option<usize>) -> anyhow::Result<Self> {
        let mut cfg = LlamaConfig::from_gguf(g)?;
        cfg.num_hidden_layers = super::hf::depth(layers, cfg.num_hidden_layers, &g.path)?;
        let names = cfg.clone();
        let mut init = |name: &str, _: &[i64]| {
            let (tensor, permute) = gguf_name(name, &names).with_context(|| format!("no GGUF tensor for {name}"))?;
            let w = g.tensor(&tensor)?;
            Ok(match permute {
                Some(heads) => unpermute_rows(&w, heads),
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

    /// Final-norm hidden states `[b, t, d]` of ids `[b, t]`; `mask` `[b, t]` (1: real token) for
    /// right-padded batches, `None` when every position is real.
    pub fn forward(&self, ids: &Tensor, mask: Option<&Tensor>) -> Tensor {
        self.norm.forward(&self.run_blocks(self.embed(ids), mask, 0..self.blocks.len()))
    }

    /// Token embeddings `[b, t, d]` of ids `[b, t]`.
    pub fn embed(&self, ids: &Tensor) -> Tensor {
        Tensor::embedding(&self.embed, ids, -1, false, false)
    }

    /// Blocks `range` applied to hidden states `x` `[b, t, d]` of positions `0..t` (no final norm).
    pub fn run_blocks(&self, x: Tensor, mask: Option<&Tensor>, range: Range<usize>) -> Tensor {
        let (b, t, _) = x.size3().expect("[batch, tokens, hidden]");
        let device = x.device();
        let (cos, sin) = self.rope_tables(t, device);
        let attend = padding_mask(mask, b, t, device);
        self.blocks[range].iter().fold(x, |x, block| block.forward(&x, &cos, &sin, attend.as_ref()))
    }

    /// The final norm.
    pub fn final_norm(&self, x: &Tensor) -> Tensor {
        self.norm.forward(x)
    }

    /// Vocabulary logits of hidden states `[.., d]`.
    pub fn logits(&self, hidden: &Tensor) -> Tensor {
        match &self.lm_head {
            Some(head) => head.forward(hidden),
            None => hidden.matmul(&self.embed.tr()),
        }
    }

    /// Logits `[b, vocab]` of the token after each row's last real token.
    pub fn next_token_logits(&self, ids: &Tensor, mask: Option<&Tensor>) -> Tensor {
        self.logits(&last_real(&self.forward(ids, mask), mask))
    }

    /// `cos`, `sin` `[t, head_dim]` for positions `0..t`.
    fn rope_tables(&self, t: i64, device: Device) -> (Tensor, Tensor) {
        let hd = self.config.head_dim();
        let exponents = Tensor::arange_start_step(0, hd, 2, (Kind::Double, device)) / hd as f64;
        let inv_freq = Tensor::from(self.config.rope_theta).to_device(device).pow(&exponents).reciprocal();
        let pos = Tensor::arange(t, (Kind::Double, device));
        let angles = pos.outer(&inv_freq);
        let angles = Tensor::cat(&[&angles, &angles], -1);
        (angles.cos().to_kind(Kind::Float), angles.sin().to_kind(Kind::Float))
    }
}

/// The hidden state `[b, d]` of each row's last real token (from the 0/1 `mask` `[b, t]` of a
/// right-padded batch; the last position when `None`).
pub fn last_real(hidden: &Tensor, mask: Option<&Tensor>) -> Tensor {
    let (b, t, d) = hidden.size3().expect("[batch, tokens, hidden]");
    let last = match mask {
        Some(m) => (m.sum_dim_intlist(1, false, Kind::Int64) - 1).clamp_min(0),
        None => Tensor::full([b], t - 1, (Kind::Int64, hidden.device())),
    };
    hidden.gather(1, &last.view([b, 1, 1]).expand([b, 1, d], false), false).squeeze_dim(1)
}

/// The GGUF tensor of an HF parameter name, and the head count whose rows to un-permute.
fn gguf_name(name: &str, cfg: &LlamaConfig) -> Option<(String, Option<i64>)> {
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
    let (g, permute) = match param {
        "self_attn.q_proj.weight" => ("attn_q", Some(cfg.num_attention_heads)),
        "self_attn.k_proj.weight" => ("attn_k", Some(cfg.num_key_value_heads)),
        "self_attn.v_proj.weight" => ("attn_v", None),
        "self_attn.o_proj.weight" => ("attn_output", None),
        "mlp.gate_proj.weight" => ("ffn_gate", None),
        "mlp.up_proj.weight" => ("ffn_up", None),
        "mlp.down_proj.weight" => ("ffn_down", None),
        "input_layernorm.weight" => ("attn_norm", None),
        "post_attention_layernorm.weight" => ("ffn_norm", None),
        _ => return None,
    };
    Some((format!("blk.{n}.{g}.weight"), permute))
}

/// Undo llama.cpp's Q/K permutation: GGUF row `h*hd + 2i + j` is HF row `h*hd + j*hd/2 + i`.
fn unpermute_rows(w: &Tensor, heads: i64) -> Tensor {
    let (rows, cols) = w.size2().expect("a matrix");
    w.view([heads, rows / heads / 2, 2, cols]).transpose(1, 2).reshape([rows, cols])
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::backbones::{gguf_tokenizer, gguf_tokenizer::tests::smollm2};

    #[test]
    fn unpermute_interleaved_pairs_into_halves() {
        // One head of dim 4: GGUF rows (a0, b0, a1, b1) become HF rows (a0, a1, b0, b1).
        let w = Tensor::from_slice(&[0f32, 10., 1., 11.]).view([4, 1]);
        let hf = Vec::<f32>::try_from(unpermute_rows(&w, 1).flatten(0, -1)).unwrap();
        assert_eq!(hf, [0., 1., 10., 11.]);
    }

    #[test]
    fn last_real_token_of_right_padded_rows() {
        let h = Tensor::arange(2 * 3, (Kind::Float, Device::Cpu)).view([2, 3, 1]);
        let mask = Tensor::from_slice(&[1i64, 1, 0, 1, 1, 1]).view([2, 3]);
        assert_eq!(Vec::<f32>::try_from(last_real(&h, Some(&mask)).flatten(0, -1)).unwrap(), [1., 5.]);
        assert_eq!(Vec::<f32>::try_from(last_real(&h, None).flatten(0, -1)).unwrap(), [2., 5.]);
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
