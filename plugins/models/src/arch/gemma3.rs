//! Gemma 3's text decoder (Gemma Team 2025, "Gemma 3 Technical Report"), following HF
//! transformers 5.24.0's `modeling_gemma3.py` (`Gemma3TextModel`, `Gemma3ForCausalLM`) with its
//! parameter names: token embeddings scaled by `sqrt(hidden_size)`; RMSNorms that scale by
//! `1 + w` (computed in f32); per block, a pre- and a post-norm around both the attention and the
//! MLP; grouped-query attention with RMSNorm on each head's queries and keys (QK-norm) before
//! RoPE and a `query_pre_attn_scalar^-1/2` scale; sliding-window (local) layers interleaved with
//! global ones, each kind with its own RoPE base (and the global one's linear scaling); a GeGLU MLP
//! (tanh-approximated GELU); the output layer tied to the embeddings. Attention and final-logit
//! soft-capping are absent in Gemma 3 (refused by the loaders if a file asks for them). Read from
//! GGUF by `load::gemma3_gguf`; checked against HF by `w2s-builtin`'s `tests/hf_reference.rs`.

use std::ops::Range;

use anyhow::ensure;
use tch::{nn, nn::Module, Device, Kind, Tensor};

use crate::{
    layers::{last_real, linear, param, Init},
    rope::{self, rotate_half, RopeScaling},
    trunk::Trunk,
};

/// The shape of a Gemma 3 text model.
#[derive(Debug, Clone, PartialEq)]
pub struct Gemma3Config {
    pub vocab_size: i64,
    pub hidden_size: i64,
    pub intermediate_size: i64,
    pub num_hidden_layers: i64,
    pub num_attention_heads: i64,
    pub num_key_value_heads: i64,
    /// Independent of `hidden_size / num_attention_heads` (256 in the released models).
    pub head_dim: i64,
    pub rms_norm_eps: f64,
    /// Queries are scaled by `query_pre_attn_scalar^-1/2`.
    pub query_pre_attn_scalar: f64,
    /// RoPE base of the global layers, and their scaling.
    pub rope_theta: f64,
    pub rope_scaling: RopeScaling,
    /// RoPE base of the sliding-window layers.
    pub rope_local_theta: f64,
    /// A sliding layer's query at position `i` sees keys `j` with `i - window < j <= i`.
    pub sliding_window: i64,
    /// Per layer: `true` for sliding-window attention, `false` for global.
    pub sliding: Vec<bool>,
    pub context_length: Option<i64>,
}

impl Gemma3Config {
    /// HF's default layer pattern (and llama.cpp's, which hard-codes it for `gemma3`): every
    /// `pattern`-th layer global, the others sliding.
    pub fn pattern(layers: i64, pattern: i64) -> Vec<bool> {
        (0..layers).map(|i| (i + 1) % pattern != 0).collect()
    }

    pub fn check(&self, source: &std::path::Path) -> anyhow::Result<()> {
        let (h, kv) = (self.num_attention_heads, self.num_key_value_heads);
        ensure!(
            h > 0 && kv > 0 && h % kv == 0 && self.head_dim > 0 && self.head_dim % 2 == 0,
            "{}: {h} query heads, {kv} KV heads and head dim {} do not make grouped-query attention",
            source.display(),
            self.head_dim
        );
        ensure!(
            self.sliding.len() as i64 == self.num_hidden_layers && self.sliding_window >= 1,
            "{}: {} layer kinds for {} layers (sliding window {})",
            source.display(),
            self.sliding.len(),
            self.num_hidden_layers,
            self.sliding_window
        );
        Ok(())
    }
}

/// Gemma's RMSNorm: `x / rms(x) * (1 + w)`, in f32, back to the input's precision.
#[derive(Debug)]
pub struct GemmaRmsNorm {
    weight: Tensor,
    eps: f64,
}

impl GemmaRmsNorm {
    pub fn new(p: nn::Path<'_>, d: i64, eps: f64, init: &mut Init<'_>) -> anyhow::Result<Self> {
        Ok(GemmaRmsNorm { weight: param(&p, "weight", &[d], init)?, eps })
    }
}

impl Module for GemmaRmsNorm {
    fn forward(&self, x: &Tensor) -> Tensor {
        let xf = x.to_kind(Kind::Float);
        let ms = xf.square().mean_dim(-1, true, Kind::Float);
        (xf * (ms + self.eps).rsqrt() * (&self.weight + 1.0)).to_kind(x.kind())
    }
}

struct Block {
    q: nn::Linear,
    k: nn::Linear,
    v: nn::Linear,
    o: nn::Linear,
    q_norm: GemmaRmsNorm,
    k_norm: GemmaRmsNorm,
    gate: nn::Linear,
    up: nn::Linear,
    down: nn::Linear,
    input_norm: GemmaRmsNorm,
    post_attn_norm: GemmaRmsNorm,
    pre_ffn_norm: GemmaRmsNorm,
    post_ffn_norm: GemmaRmsNorm,
    heads: i64,
    kv_heads: i64,
    scale: f64,
    sliding: bool,
}

/// What every block of one pass shares: the RoPE tables and masks of each layer kind.
struct Positions {
    global: (Tensor, Tensor, Option<Tensor>),
    local: (Tensor, Tensor, Option<Tensor>),
}

impl Block {
    fn new(p: nn::Path<'_>, cfg: &Gemma3Config, sliding: bool, init: &mut Init<'_>) -> anyhow::Result<Self> {
        let (d, f, hd, eps) = (cfg.hidden_size, cfg.intermediate_size, cfg.head_dim, cfg.rms_norm_eps);
        let (att, mlp) = (&p / "self_attn", &p / "mlp");
        Ok(Block {
            q: linear(&att / "q_proj", d, cfg.num_attention_heads * hd, init)?,
            k: linear(&att / "k_proj", d, cfg.num_key_value_heads * hd, init)?,
            v: linear(&att / "v_proj", d, cfg.num_key_value_heads * hd, init)?,
            o: linear(&att / "o_proj", cfg.num_attention_heads * hd, d, init)?,
            q_norm: GemmaRmsNorm::new(&att / "q_norm", hd, eps, init)?,
            k_norm: GemmaRmsNorm::new(&att / "k_norm", hd, eps, init)?,
            gate: linear(&mlp / "gate_proj", d, f, init)?,
            up: linear(&mlp / "up_proj", d, f, init)?,
            down: linear(&mlp / "down_proj", f, d, init)?,
            input_norm: GemmaRmsNorm::new(&p / "input_layernorm", d, eps, init)?,
            post_attn_norm: GemmaRmsNorm::new(&p / "post_attention_layernorm", d, eps, init)?,
            pre_ffn_norm: GemmaRmsNorm::new(&p / "pre_feedforward_layernorm", d, eps, init)?,
            post_ffn_norm: GemmaRmsNorm::new(&p / "post_feedforward_layernorm", d, eps, init)?,
            heads: cfg.num_attention_heads,
            kv_heads: cfg.num_key_value_heads,
            scale: cfg.query_pre_attn_scalar.powf(-0.5),
            sliding,
        })
    }

    fn forward(&self, x: &Tensor, at: &Positions) -> Tensor {
        let (b, t, _) = x.size3().expect("[batch, tokens, hidden]");
        let (cos, sin, attend) = if self.sliding { &at.local } else { &at.global };
        let h = self.input_norm.forward(x);
        let split = |y: Tensor, heads: i64| y.view([b, t, heads, -1]).transpose(1, 2);
        let q = rotate_half(&self.q_norm.forward(&split(self.q.forward(&h), self.heads)), cos, sin);
        let k = rotate_half(&self.k_norm.forward(&split(self.k.forward(&h), self.kv_heads)), cos, sin);
        let v = split(self.v.forward(&h), self.kv_heads);
        let ctx = Tensor::scaled_dot_product_attention(
            &q,
            &k,
            &v,
            attend.as_ref(),
            0.0,
            attend.is_none(),
            Some(self.scale),
            true,
        );
        let attn = self.o.forward(&ctx.transpose(1, 2).reshape([b, t, -1]));
        let x = x + self.post_attn_norm.forward(&attn);
        let h = self.pre_ffn_norm.forward(&x);
        let mlp = self.down.forward(&(self.gate.forward(&h).gelu("tanh") * self.up.forward(&h)));
        &x + self.post_ffn_norm.forward(&mlp)
    }
}

/// The boolean `[b, 1, t, t]` mask of causal attention within `window` positions (when given)
/// over the real tokens of `mask` `[b, t]`, each position always seeing itself (so that a padded
/// position far past its row's end attends to something: its output is never read, but a row
/// with nothing to attend to would make NaNs that the next block's values would carry); `None`
/// when it is plain causal attention.
fn attention_mask(mask: Option<&Tensor>, window: Option<i64>, b: i64, t: i64, device: Device) -> Option<Tensor> {
    if mask.is_none() && window.is_none_or(|w| w >= t) {
        return None;
    }
    let mut allowed = Tensor::ones([t, t], (Kind::Bool, device)).tril(0);
    if let Some(w) = window.filter(|&w| w < t) {
        allowed = allowed.logical_and(&Tensor::ones([t, t], (Kind::Bool, device)).triu(1 - w));
    }
    let allowed = allowed.view([1, 1, t, t]);
    Some(match mask {
        Some(m) => {
            let eye = Tensor::eye(t, (Kind::Bool, device)).view([1, 1, t, t]);
            allowed.logical_and(&m.to_kind(Kind::Bool).view([b, 1, 1, t])).logical_or(&eye)
        }
        None => allowed.expand([b, 1, t, t], false),
    })
}

/// The decoder: scaled embeddings, blocks, final norm, output tied to the embeddings.
pub struct Gemma3 {
    embed: Tensor,
    blocks: Vec<Block>,
    norm: GemmaRmsNorm,
    pub config: Gemma3Config,
}

impl Gemma3 {
    /// Create the parameters under `p` (the store's root gives HF names), valued by `init`.
    pub fn new(p: nn::Path<'_>, cfg: &Gemma3Config, init: &mut Init<'_>) -> anyhow::Result<Self> {
        let m = &p / "model";
        let d = cfg.hidden_size;
        Ok(Gemma3 {
            embed: param(&(&m / "embed_tokens"), "weight", &[cfg.vocab_size, d], init)?,
            blocks: (0..cfg.num_hidden_layers)
                .map(|i| Block::new(&m / "layers" / i, cfg, cfg.sliding[i as usize], init))
                .collect::<anyhow::Result<_>>()?,
            norm: GemmaRmsNorm::new(&m / "norm", d, cfg.rms_norm_eps, init)?,
            config: cfg.clone(),
        })
    }

    fn positions(&self, mask: Option<&Tensor>, b: i64, t: i64, device: Device) -> Positions {
        let c = &self.config;
        let table =
            |theta: f64, scaling: &RopeScaling| rope::tables(&rope::inv_freq(theta, c.head_dim, scaling), t, device);
        let (gc, gs) = table(c.rope_theta, &c.rope_scaling);
        let (lc, ls) = table(c.rope_local_theta, &RopeScaling::None);
        Positions {
            global: (gc, gs, attention_mask(mask, None, b, t, device)),
            local: (lc, ls, attention_mask(mask, Some(c.sliding_window), b, t, device)),
        }
    }

    /// Final-norm hidden states `[b, t, d]`.
    pub fn forward(&self, ids: &Tensor, mask: Option<&Tensor>) -> Tensor {
        self.norm.forward(&self.run_blocks(Trunk::embed(self, ids), mask, 0..self.blocks.len()))
    }

    fn run_blocks(&self, x: Tensor, mask: Option<&Tensor>, range: Range<usize>) -> Tensor {
        let (b, t, _) = x.size3().expect("[batch, tokens, hidden]");
        let at = self.positions(mask, b, t, x.device());
        self.blocks[range].iter().fold(x, |x, block| block.forward(&x, &at))
    }

    /// Logits `[b, vocab]` of the token after each row's last real token.
    pub fn next_token_logits(&self, ids: &Tensor, mask: Option<&Tensor>) -> Tensor {
        self.lm_logits(&last_real(&self.forward(ids, mask), mask))
    }
}

impl Trunk for Gemma3 {
    /// HF's `Gemma3TextScaledWordEmbedding`: the rows times `sqrt(hidden_size)` (in f32).
    fn embed(&self, ids: &Tensor) -> Tensor {
        let scale = (self.config.hidden_size as f32).sqrt();
        Tensor::embedding(&self.embed, ids, -1, false, false) * f64::from(scale)
    }

    fn blocks(&self, x: Tensor, mask: Option<&Tensor>, range: Range<usize>) -> Tensor {
        self.run_blocks(x, mask, range)
    }

    fn final_norm(&self, x: &Tensor) -> Tensor {
        self.norm.forward(x)
    }

    fn lm_logits(&self, hidden: &Tensor) -> Tensor {
        hidden.matmul(&self.embed.tr())
    }

    fn depth(&self) -> usize {
        self.blocks.len()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_mask_sees_the_window_and_padding_sees_itself() {
        let m = Tensor::from_slice(&[1i64, 1, 1, 0, 0]).view([1, 5]);
        let a = attention_mask(Some(&m), Some(2), 1, 5, Device::Cpu).unwrap();
        let rows: Vec<Vec<bool>> = (0..5).map(|i| Vec::<bool>::try_from(a.get(0).get(0).get(i)).unwrap()).collect();
        assert_eq!(rows[2], [false, true, true, false, false], "window 2: itself and one before");
        assert_eq!(rows[4], [false, false, false, false, true], "a padded position past the window sees itself");
        assert!(attention_mask(None, Some(8), 1, 5, Device::Cpu).is_none(), "a window longer than the text");
        assert_eq!(Gemma3Config::pattern(7, 6), [true, true, true, true, true, false, true]);
    }
}
