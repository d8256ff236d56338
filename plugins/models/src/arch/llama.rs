//! A llama-type decoder (Touvron et al. 2023, "LLaMA: Open and Efficient Foundation Language
//! Models"): RMSNorm, rotary position embeddings (Su et al. 2021, RoFormer), grouped-query
//! attention (Ainslie et al. 2023) and a SwiGLU MLP (RoPE and its Llama 3.x scaling in `rope`), with HF parameter names (`model.layers.N.*`,
//! `lm_head.weight` unless tied to `model.embed_tokens.weight`), applying HF's rotate-half RoPE.
//! Qwen2's Q/K/V biases, llama's `attention_bias` (which also gives `o_proj` a bias), and Qwen3's
//! QK-norm with a head width of its own (`modeling_qwen3.py`) are included. The weights come from an [`Init`]: a GGUF file (`load::llama_gguf`, which un-permutes
//! llama.cpp's Q/K rows) or an HF safetensors folder (`load::llama_hf`). Checked against HF
//! transformers 5.24.0's `modeling_llama.py` and `modeling_qwen2.py` by `tests/hf_reference.rs`.

use std::{ops::Range, path::Path};

use anyhow::ensure;
use tch::{nn, nn::Module, Device, Tensor};

use crate::{
    layers::{causal_attention, last_real, linear, linear_b, padding_mask, param, Init, RmsNorm},
    rope::{self, rotate_half, RopeScaling},
    trunk::Trunk,
};

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
    /// Llama 3.x's `rope_scaling` (or llama.cpp's `rope_freqs` divisors), linear interpolation.
    pub rope_scaling: RopeScaling,
    /// Each head's width when it is not `hidden_size / num_attention_heads` (Qwen3: 128 on
    /// hidden 1024 with 16 heads).
    pub head_dim: Option<i64>,
    /// RMSNorm on each head's queries and keys before RoPE (Qwen3's `q_norm`, `k_norm`).
    pub qk_norm: bool,
}

impl LlamaConfig {
    /// Check that the head counts divide the hidden size (`source` for messages).
    pub fn check(&self, source: &Path) -> anyhow::Result<()> {
        let h = self.num_attention_heads;
        let width_ok = self.head_dim.map_or(h > 0 && self.hidden_size % h == 0, |hd| hd > 0 && hd % 2 == 0);
        ensure!(
            h > 0 && width_ok && self.num_key_value_heads > 0 && h % self.num_key_value_heads == 0,
            "{}: {} query heads and {} KV heads do not divide hidden size {}",
            source.display(),
            h,
            self.num_key_value_heads,
            self.hidden_size
        );
        Ok(())
    }

    pub fn head_dim(&self) -> i64 {
        self.head_dim.unwrap_or(self.hidden_size / self.num_attention_heads)
    }
}

pub(crate) struct Block {
    q: nn::Linear,
    k: nn::Linear,
    v: nn::Linear,
    o: nn::Linear,
    gate: nn::Linear,
    up: nn::Linear,
    down: nn::Linear,
    attn_norm: RmsNorm,
    mlp_norm: RmsNorm,
    /// Qwen3's per-head RMSNorms of queries and keys.
    qk_norm: Option<(RmsNorm, RmsNorm)>,
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
            qk_norm: match cfg.qk_norm {
                true => Some((
                    RmsNorm::new(&att / "q_norm", hd, cfg.rms_norm_eps, init)?,
                    RmsNorm::new(&att / "k_norm", hd, cfg.rms_norm_eps, init)?,
                )),
                false => None,
            },
            heads: cfg.num_attention_heads,
            kv_heads: cfg.num_key_value_heads,
        })
    }

    /// `x` `[b, t, d]`; `attend` `[b, 1, t, t]` boolean, or `None` for plain causal attention.
    fn forward(&self, x: &Tensor, cos: &Tensor, sin: &Tensor, attend: Option<&Tensor>) -> Tensor {
        let (b, t, _) = x.size3().expect("[batch, tokens, hidden]");
        let h = self.attn_norm.forward(x);
        let split = |y: Tensor, heads: i64| y.view([b, t, heads, -1]).transpose(1, 2);
        let (mut q, mut k) = (split(self.q.forward(&h), self.heads), split(self.k.forward(&h), self.kv_heads));
        if let Some((qn, kn)) = &self.qk_norm {
            (q, k) = (qn.forward(&q), kn.forward(&k));
        }
        let (q, k) = (rotate_half(&q, cos, sin), rotate_half(&k, cos, sin));
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
    pub(crate) blocks: Vec<Block>,
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
        let c = &self.config;
        rope::tables(&rope::inv_freq(c.rope_theta, c.head_dim(), &c.rope_scaling), t, device)
    }
}

impl Trunk for Llama {
    fn embed(&self, ids: &Tensor) -> Tensor {
        Llama::embed(self, ids)
    }

    fn blocks(&self, x: Tensor, mask: Option<&Tensor>, range: Range<usize>) -> Tensor {
        self.run_blocks(x, mask, range)
    }

    fn final_norm(&self, x: &Tensor) -> Tensor {
        Llama::final_norm(self, x)
    }

    fn lm_logits(&self, hidden: &Tensor) -> Tensor {
        self.logits(hidden)
    }

    fn depth(&self) -> usize {
        self.config.num_hidden_layers as usize
    }

    fn hidden_size(&self) -> i64 {
        self.config.hidden_size
    }

    fn vocab_size(&self) -> i64 {
        self.config.vocab_size
    }

    fn context_length(&self) -> Option<i64> {
        self.config.context_length
    }

    fn top_params(&self, from: usize) -> Vec<String> {
        crate::trunk::hf_top_params(from, self.depth())
    }
}
