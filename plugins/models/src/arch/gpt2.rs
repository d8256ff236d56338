//! GPT-2 (Radford et al. 2019, "Language Models are Unsupervised Multitask Learners"), with HF
//! parameter names (`wte`, `wpe`, `h.N.*`, `ln_f`): learned position embeddings, pre-LN blocks
//! (`ln_1`, fused `attn.c_attn` Q/K/V, `attn.c_proj`, `ln_2`, `mlp.c_fc`, gelu_new (tanh
//! approximation), `mlp.c_proj`), final `ln_f`, output tied to `wte`. HF's `Conv1D` stores weights
//! `[in, out]` (transposed relative to `nn.Linear`): they are kept so and applied as `x @ W + b`.
//! Read from an HF folder by `load::gpt2_hf`. Checked against HF transformers 5.24.0's
//! `modeling_gpt2.py` by `tests/hf_reference.rs`.

use std::ops::Range;

use tch::{nn, Tensor};

use crate::{
    layers::{causal_attention, padding_mask, param, Init, LayerNorm},
    trunk::Trunk,
};

/// The shape of a GPT-2 model.
#[derive(Debug, Clone, PartialEq)]
pub struct Gpt2Config {
    pub vocab_size: i64,
    pub n_embd: i64,
    pub n_layer: i64,
    pub n_head: i64,
    pub n_positions: i64,
    /// The MLP's hidden width (`n_inner`, 4 × `n_embd` when null).
    pub n_inner: i64,
    pub layer_norm_epsilon: f64,
    /// `activation_function = "gelu"` (erf) instead of the usual tanh approximation.
    pub exact_gelu: bool,
}

/// HF's `Conv1D`: weight `[in, out]`, bias `[out]`, `x @ W + b`.
struct Conv1D {
    weight: Tensor,
    bias: Tensor,
}

impl Conv1D {
    fn new(p: nn::Path<'_>, i: i64, o: i64, init: &mut Init<'_>) -> anyhow::Result<Self> {
        Ok(Conv1D { weight: param(&p, "weight", &[i, o], init)?, bias: param(&p, "bias", &[o], init)? })
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        x.matmul(&self.weight) + &self.bias
    }
}

pub(crate) struct Block {
    ln_1: LayerNorm,
    c_attn: Conv1D,
    attn_proj: Conv1D,
    ln_2: LayerNorm,
    c_fc: Conv1D,
    mlp_proj: Conv1D,
    heads: i64,
    gelu: &'static str,
}

impl Block {
    fn new(p: nn::Path<'_>, cfg: &Gpt2Config, init: &mut Init<'_>) -> anyhow::Result<Self> {
        let (d, eps) = (cfg.n_embd, cfg.layer_norm_epsilon);
        Ok(Block {
            ln_1: LayerNorm::new(&p / "ln_1", d, eps, init)?,
            c_attn: Conv1D::new(&p / "attn" / "c_attn", d, 3 * d, init)?,
            attn_proj: Conv1D::new(&p / "attn" / "c_proj", d, d, init)?,
            ln_2: LayerNorm::new(&p / "ln_2", d, eps, init)?,
            c_fc: Conv1D::new(&p / "mlp" / "c_fc", d, cfg.n_inner, init)?,
            mlp_proj: Conv1D::new(&p / "mlp" / "c_proj", cfg.n_inner, d, init)?,
            heads: cfg.n_head,
            gelu: if cfg.exact_gelu { "none" } else { "tanh" },
        })
    }

    /// `x` `[b, t, d]`; `attend` from `padding_mask`, or `None` for plain causal attention.
    fn forward(&self, x: &Tensor, attend: Option<&Tensor>) -> Tensor {
        let (b, t, d) = x.size3().expect("[batch, tokens, hidden]");
        let qkv = self.c_attn.forward(&self.ln_1.forward(x)).split(d, -1);
        let split = |y: &Tensor| y.view([b, t, self.heads, -1]).transpose(1, 2);
        let ctx = causal_attention(&split(&qkv[0]), &split(&qkv[1]), &split(&qkv[2]), attend);
        let x = x + self.attn_proj.forward(&ctx.transpose(1, 2).reshape([b, t, d]));
        let h = self.c_fc.forward(&self.ln_2.forward(&x)).gelu(self.gelu);
        &x + self.mlp_proj.forward(&h)
    }
}

/// The GPT-2 model: token and position embeddings, blocks, final norm; output tied to `wte`.
pub struct Gpt2 {
    wte: Tensor,
    wpe: Tensor,
    pub(crate) blocks: Vec<Block>,
    ln_f: LayerNorm,
    pub config: Gpt2Config,
}

impl Gpt2 {
    /// Create the parameters under `p` (the store's root gives HF names without the
    /// `transformer.` prefix), valued by `init`.
    pub fn new(p: nn::Path<'_>, cfg: &Gpt2Config, init: &mut Init<'_>) -> anyhow::Result<Self> {
        let d = cfg.n_embd;
        Ok(Gpt2 {
            wte: param(&(&p / "wte"), "weight", &[cfg.vocab_size, d], init)?,
            wpe: param(&(&p / "wpe"), "weight", &[cfg.n_positions, d], init)?,
            blocks: (0..cfg.n_layer).map(|i| Block::new(&p / "h" / i, cfg, init)).collect::<anyhow::Result<_>>()?,
            ln_f: LayerNorm::new(&p / "ln_f", d, cfg.layer_norm_epsilon, init)?,
            config: cfg.clone(),
        })
    }

    /// Final-norm hidden states `[b, t, d]` of ids `[b, t]` (`t` at most `n_positions`); `mask`
    /// `[b, t]` (1: real token) for right-padded batches, `None` when every position is real.
    pub fn forward(&self, ids: &Tensor, mask: Option<&Tensor>) -> Tensor {
        self.ln_f.forward(&self.run_blocks(self.embed(ids), mask, 0..self.blocks.len()))
    }

    /// Token plus position embeddings `[b, t, d]` of ids `[b, t]` (`t` at most `n_positions`).
    pub fn embed(&self, ids: &Tensor) -> Tensor {
        let (_, t) = ids.size2().expect("[batch, tokens]");
        assert!(t <= self.config.n_positions, "{t} tokens, but GPT-2 has {} positions", self.config.n_positions);
        Tensor::embedding(&self.wte, ids, -1, false, false) + self.wpe.narrow(0, 0, t)
    }

    /// Blocks `range` applied to hidden states `x` `[b, t, d]` (no final norm).
    pub fn run_blocks(&self, x: Tensor, mask: Option<&Tensor>, range: Range<usize>) -> Tensor {
        let (b, t, _) = x.size3().expect("[batch, tokens, hidden]");
        let attend = padding_mask(mask, b, t, x.device());
        self.blocks[range].iter().fold(x, |x, block| block.forward(&x, attend.as_ref()))
    }

    /// Vocabulary logits of hidden states `[.., d]` (tied to the token embeddings).
    pub fn logits(&self, hidden: &Tensor) -> Tensor {
        hidden.matmul(&self.wte.tr())
    }
}

impl Trunk for Gpt2 {
    fn embed(&self, ids: &Tensor) -> Tensor {
        Gpt2::embed(self, ids)
    }

    fn blocks(&self, x: Tensor, mask: Option<&Tensor>, range: Range<usize>) -> Tensor {
        self.run_blocks(x, mask, range)
    }

    fn final_norm(&self, x: &Tensor) -> Tensor {
        self.ln_f.forward(x)
    }

    fn lm_logits(&self, hidden: &Tensor) -> Tensor {
        self.logits(hidden)
    }

    fn depth(&self) -> usize {
        self.blocks.len()
    }

    fn hidden_size(&self) -> i64 {
        self.config.n_embd
    }

    fn vocab_size(&self) -> i64 {
        self.config.vocab_size
    }

    fn context_length(&self) -> Option<i64> {
        Some(self.config.n_positions)
    }

    fn top_params(&self, from: usize) -> Vec<String> {
        let mut p: Vec<String> = (from..self.blocks.len()).map(|i| format!("h.{i}.")).collect();
        p.push("ln_f.".into());
        p
    }
}

#[cfg(test)]
mod tests {
    use tch::Kind;

    use super::*;
    use crate::testing::{
        gpt2::{random_gpt2, tiny_config},
        ids, max_diff,
    };

    /// GPT-2 written out by hand: explicit layer norm, per-head softmax attention with a causal
    /// mask, gelu_new's formula, tied output.
    #[test]
    fn matches_a_hand_written_reference() {
        let _guard = tch::no_grad_guard();
        let config = tiny_config(300);
        let (vs, model, _) = random_gpt2(&config, "");
        let v = vs.variables();
        let w = |n: &str| v[n].shallow_clone();
        let ln = |x: &Tensor, p: &str| {
            let mean = x.mean_dim(-1, true, Kind::Float);
            let var = (x - &mean).square().mean_dim(-1, true, Kind::Float);
            (x - mean) / (var + 1e-5).sqrt() * w(&format!("{p}.weight")) + w(&format!("{p}.bias"))
        };
        let conv = |x: &Tensor, p: &str| x.matmul(&w(&format!("{p}.weight"))) + w(&format!("{p}.bias"));
        let gelu_new = |x: &Tensor| {
            let inner = (x + x.pow_tensor_scalar(3) * 0.044715) * (2.0 / std::f64::consts::PI).sqrt();
            x * 0.5 * (inner.tanh() + 1.0)
        };
        let tokens = [3i64, 250, 9, 9, 100];
        let t = tokens.len() as i64;
        let (d, heads) = (32, 4);
        let hd = d / heads;
        let mut x = w("wte.weight").index_select(0, &Tensor::from_slice(&tokens)) + w("wpe.weight").narrow(0, 0, t);
        for l in 0..2 {
            let p = format!("h.{l}");
            let qkv = conv(&ln(&x, &format!("{p}.ln_1")), &format!("{p}.attn.c_attn"));
            let mut ctx = Vec::new();
            for h in 0..heads {
                let q = qkv.narrow(1, h * hd, hd);
                let k = qkv.narrow(1, d + h * hd, hd);
                let vv = qkv.narrow(1, 2 * d + h * hd, hd);
                let future = Tensor::ones([t, t], tch::kind::FLOAT_CPU).triu(1) * -1e9;
                let scores = q.matmul(&k.tr()) / (hd as f64).sqrt() + future;
                ctx.push(scores.softmax(-1, Kind::Float).matmul(&vv));
            }
            x = &x + conv(&Tensor::cat(&ctx, 1), &format!("{p}.attn.c_proj"));
            let hidden = gelu_new(&conv(&ln(&x, &format!("{p}.ln_2")), &format!("{p}.mlp.c_fc")));
            x = &x + conv(&hidden, &format!("{p}.mlp.c_proj"));
        }
        let want = ln(&x, "ln_f").matmul(&w("wte.weight").tr());
        let got = model.logits(&model.forward(&ids(&tokens), None)).squeeze_dim(0);
        let diff = max_diff(&got, &want);
        assert!(diff < 1e-4 * want.abs().max().double_value(&[]).max(1.0), "differs by {diff}");
        // Right-padded in a batch with a longer row: the real positions are unchanged.
        let batch = Tensor::from_slice(&[3i64, 250, 9, 9, 100, 0, 0, 1, 2, 3, 4, 5, 6, 7]).view([2, 7]);
        let mask = Tensor::from_slice(&[1i64, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1]).view([2, 7]);
        let padded = model.logits(&model.forward(&batch, Some(&mask))).get(0).narrow(0, 0, t);
        assert!(max_diff(&padded, &want) < 1e-3, "{}", max_diff(&padded, &want));
    }
}
