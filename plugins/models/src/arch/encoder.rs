//! What the pretrained text encoders (BERT, MPNet) share: the [`Encoder`] trait that the
//! classifier of `heads::encoder` runs, and BERT's post-norm transformer layer (Devlin et al.
//! 2019), which MPNet (Song et al. 2020) keeps under other parameter names and with a relative
//! position bias added to its attention scores.

use std::path::Path;

use anyhow::Context;
use serde::de::DeserializeOwned;
use tch::{nn, nn::Module, Tensor};

/// A text encoder with HF parameter names, built under a store path.
pub trait Encoder: Sized + 'static {
    type Config: EncoderConfig;
    /// Create the parameters under `p` (the store's root for HF names).
    fn build(p: nn::Path<'_>, cfg: &Self::Config) -> Self;
    /// Hidden states `[b, t, d]` of ids `[b, t]` with 0/1 `mask` `[b, t]` (1: a real token).
    fn hidden_states(&self, ids: &Tensor, mask: &Tensor) -> anyhow::Result<Tensor>;
    fn config(&self) -> &Self::Config;
}

/// An encoder's `config.json`.
pub trait EncoderConfig: DeserializeOwned {
    /// Refuse what the encoder does not implement (`source` names the config in messages).
    fn check(&self, source: &Path) -> anyhow::Result<()>;
    /// The most tokens of one text that the encoder has positions for.
    fn max_tokens(&self) -> i64;
    fn hidden_size(&self) -> i64;
    /// The id that pads a batch.
    fn pad_token_id(&self) -> i64;
}

/// Word plus position embeddings `[b, t, d]` of ids `[b, t]` at `positions` (`[1 | b, t]`);
/// an id outside the vocabulary, or a position outside the table (more than `max_tokens`
/// tokens), is an error.
pub(crate) fn embed(
    word: &nn::Embedding,
    position: &nn::Embedding,
    ids: &Tensor,
    positions: &Tensor,
    max_tokens: i64,
) -> anyhow::Result<Tensor> {
    let words = Tensor::f_embedding(&word.ws, ids, -1, false, false).context("token ids outside the vocabulary")?;
    let t = ids.size().last().copied().unwrap_or(0);
    let at = Tensor::f_embedding(&position.ws, positions, -1, false, false)
        .with_context(|| format!("{t} tokens, more than the {max_tokens} that the encoder has positions for"))?;
    Ok(words + at)
}

/// The checks every encoder config needs: the activation is GELU (erf) and the heads divide the
/// hidden size.
pub(crate) fn check_layer(source: &Path, hidden_act: &str, heads: i64, hidden: i64) -> anyhow::Result<()> {
    anyhow::ensure!(
        hidden_act == "gelu",
        "{}: hidden_act `{hidden_act}` is not supported (only gelu)",
        source.display()
    );
    anyhow::ensure!(
        heads > 0 && hidden % heads == 0,
        "{}: {heads} heads do not divide hidden size {hidden}",
        source.display()
    );
    Ok(())
}

/// The sizes of a layer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dims {
    pub hidden: i64,
    pub intermediate: i64,
    pub heads: i64,
    pub layer_norm_eps: f64,
}

/// Where a layer's attention parameters are, below the layer's path (dotted HF names); the
/// feed-forward part is `intermediate.dense`, `output.dense` and `output.LayerNorm` in both.
pub(crate) struct AttentionNames {
    pub query: &'static str,
    pub key: &'static str,
    pub value: &'static str,
    pub out: &'static str,
    pub norm: &'static str,
}

/// `p` / each part of a dotted name.
fn at<'a>(p: &nn::Path<'a>, dotted: &str) -> nn::Path<'a> {
    dotted.split('.').fold(p.clone(), |p, part| p / part)
}

pub(crate) fn layer_norm(p: nn::Path<'_>, dims: Dims) -> nn::LayerNorm {
    nn::layer_norm(p, vec![dims.hidden], nn::LayerNormConfig { eps: dims.layer_norm_eps, ..Default::default() })
}

/// A post-norm layer: self-attention and a GELU feed-forward block, each added to its input and
/// layer-normed. Dropout is off, as in the reference code at inference.
pub(crate) struct Layer {
    query: nn::Linear,
    key: nn::Linear,
    value: nn::Linear,
    attn_out: nn::Linear,
    attn_norm: nn::LayerNorm,
    intermediate: nn::Linear,
    output: nn::Linear,
    out_norm: nn::LayerNorm,
    heads: i64,
}

impl Layer {
    pub(crate) fn new(p: nn::Path<'_>, dims: Dims, names: &AttentionNames) -> Self {
        let (h, i) = (dims.hidden, dims.intermediate);
        let linear = |name: &str, n_in, n_out| nn::linear(at(&p, name), n_in, n_out, Default::default());
        Layer {
            query: linear(names.query, h, h),
            key: linear(names.key, h, h),
            value: linear(names.value, h, h),
            attn_out: linear(names.out, h, h),
            attn_norm: layer_norm(at(&p, names.norm), dims),
            intermediate: linear("intermediate.dense", h, i),
            output: linear("output.dense", i, h),
            out_norm: layer_norm(&p / "output" / "LayerNorm", dims),
            heads: dims.heads,
        }
    }

    /// `x` `[b, t, d]`; `attend`: boolean `[b, 1, 1, t]` (true: may be attended to), or float,
    /// broadcastable to `[b, heads, t, t]`, added to the scaled scores.
    pub(crate) fn forward(&self, x: &Tensor, attend: &Tensor) -> anyhow::Result<Tensor> {
        let (b, t, d) = x.size3()?;
        let split = |y: Tensor| y.f_view([b, t, self.heads, d / self.heads]).map(|y| y.transpose(1, 2));
        let q = split(self.query.forward(x))?;
        let k = split(self.key.forward(x))?;
        let v = split(self.value.forward(x))?;
        let ctx = Tensor::f_scaled_dot_product_attention(&q, &k, &v, Some(attend), 0.0, false, None, false)?;
        let ctx = ctx.transpose(1, 2).contiguous().f_view([b, t, d])?;
        let x = self.attn_norm.forward(&(self.attn_out.forward(&ctx) + x));
        let hidden = self.intermediate.forward(&x).gelu("none");
        Ok(self.out_norm.forward(&(self.output.forward(&hidden) + x)))
    }
}
