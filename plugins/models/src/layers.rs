//! Layers that the architectures share: parameters valued by an [`Init`] (a checkpoint reader or
//! a random initialiser), bias-free and biased linear layers, RMSNorm (Zhang & Sennrich 2019,
//! "Root Mean Square Layer Normalization"), layer norm (Ba et al. 2016), causal scaled
//! dot-product attention over right-padded batches (Vaswani et al. 2017, "Attention Is All You
//! Need"), the hidden state of each row's last real token, and the reference code's zero head
//! (OpenAI's `weak-to-strong`, Burns et al. 2023).

use anyhow::ensure;
use tch::{nn, nn::Module, Device, Kind, Tensor};

/// Gives each parameter its value, from its full name and shape.
pub type Init<'a> = dyn FnMut(&str, &[i64]) -> anyhow::Result<Tensor> + 'a;

/// The trainable parameter `name` under `p`, valued by `init` (no copy: the tensor is stored).
pub fn param(p: &nn::Path<'_>, name: &str, dims: &[i64], init: &mut Init<'_>) -> anyhow::Result<Tensor> {
    let full = p.path(name);
    let t = init(&full, dims)?;
    ensure!(t.size() == dims, "{full}: shape {:?}, expected {dims:?}", t.size());
    let t = t.f_to_device(p.device())?.f_to_kind(Kind::Float)?;
    Ok(p.add(name, t, true))
}

/// A bias-free linear layer `i -> o`.
pub fn linear(p: nn::Path<'_>, i: i64, o: i64, init: &mut Init<'_>) -> anyhow::Result<nn::Linear> {
    linear_b(p, i, o, false, init)
}

/// A linear layer `i -> o` with a bias when `bias`.
pub fn linear_b(p: nn::Path<'_>, i: i64, o: i64, bias: bool, init: &mut Init<'_>) -> anyhow::Result<nn::Linear> {
    let bs = if bias { Some(param(&p, "bias", &[o], init)?) } else { None };
    Ok(nn::Linear { ws: param(&p, "weight", &[o, i], init)?, bs })
}

/// Root-mean-square layer norm (Zhang & Sennrich 2019), weight only.
#[derive(Debug)]
pub struct RmsNorm {
    weight: Tensor,
    eps: f64,
}

impl RmsNorm {
    pub fn new(p: nn::Path<'_>, d: i64, eps: f64, init: &mut Init<'_>) -> anyhow::Result<Self> {
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

/// Layer norm with weight and bias.
pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    pub fn new(p: nn::Path<'_>, d: i64, eps: f64, init: &mut Init<'_>) -> anyhow::Result<Self> {
        Ok(LayerNorm { weight: param(&p, "weight", &[d], init)?, bias: param(&p, "bias", &[d], init)?, eps })
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.layer_norm(self.weight.size(), Some(&self.weight), Some(&self.bias), self.eps, false)
    }
}

/// Causal attention of `q` `[b, h, t, hd]` over `k`, `v` `[b, kv_h, t, hd]` (grouped when
/// `kv_h < h`), where `attend` (from [`padding_mask`]) allows it, or plainly causal when `None`.
pub fn causal_attention(q: &Tensor, k: &Tensor, v: &Tensor, attend: Option<&Tensor>) -> Tensor {
    Tensor::scaled_dot_product_attention(q, k, v, attend, 0.0, attend.is_none(), None, true)
}

/// The boolean `[b, 1, t, t]` causal mask that also hides right padding (0/1 `mask` `[b, t]`);
/// `None` when every position is real.
pub fn padding_mask(mask: Option<&Tensor>, b: i64, t: i64, device: Device) -> Option<Tensor> {
    mask.map(|m| {
        let causal = Tensor::ones([t, t], (Kind::Bool, device)).tril(0);
        causal.logical_and(&m.to_kind(Kind::Bool).view([b, 1, 1, t]))
    })
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

/// The classification head of the reference code: a bias-free linear layer initialised to zero.
pub fn zero_head(p: nn::Path<'_>, hidden: i64, n_classes: usize) -> nn::Linear {
    nn::linear(
        p,
        hidden,
        n_classes as i64,
        nn::LinearConfig { bias: false, ws_init: nn::Init::Const(0.0), ..Default::default() },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_real_token_of_right_padded_rows() {
        let h = Tensor::arange(2 * 3, (Kind::Float, Device::Cpu)).view([2, 3, 1]);
        let mask = Tensor::from_slice(&[1i64, 1, 0, 1, 1, 1]).view([2, 3]);
        assert_eq!(Vec::<f32>::try_from(last_real(&h, Some(&mask)).flatten(0, -1)).unwrap(), [1., 5.]);
        assert_eq!(Vec::<f32>::try_from(last_real(&h, None).flatten(0, -1)).unwrap(), [2., 5.]);
    }
}
