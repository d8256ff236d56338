//! An MPNet encoder (Song et al. 2020, "MPNet: Masked and Permuted Pre-training for Language
//! Understanding"; e.g. sentence-transformers' all-mpnet-base-v2) in tch, with HF parameter names
//! (`embeddings.*`, `encoder.layer.N.attention.attn.{q,k,v,o}`, `encoder.relative_attention_bias`),
//! so that its `model.safetensors` loads as it is. Follows HF transformers 5.24.0's
//! `models/mpnet/modeling_mpnet.py` (`MPNetModel`), checked against it by `tests/hf_reference.rs`.
//!
//! It differs from BERT (whose post-norm layer, `encoder::Layer`, it shares) in:
//! - no token-type embeddings;
//! - positions counted RoBERTa-style (`create_position_ids_from_input_ids`): from
//!   `PADDING_IDX + 1` = 2 over the tokens whose id is not `PADDING_IDX` (1, fixed in HF's
//!   `MPNetEmbeddings` whatever the config's `pad_token_id`); such tokens get position 1;
//! - one relative position bias (`encoder.relative_attention_bias`, `[32 buckets, heads]`)
//!   added to every layer's attention scores, bucketed as in T5 (bidirectional, 16 buckets a
//!   direction, exact below distance 8, logarithmic up to 128): HF's `compute_position_bias`
//!   always uses 32 buckets, so a config with another `relative_attention_num_buckets` is refused.
//!
//! Dropout is off, as in the reference code at inference.

use std::path::Path;

use serde::Deserialize;
use tch::{nn, nn::Module, Device, Kind, Tensor};

use super::encoder::{check_layer, embed, layer_norm, AttentionNames, Dims, Encoder, EncoderConfig, Layer};

/// The id whose tokens HF's MPNet embeddings count as padding (for positions).
pub const PADDING_IDX: i64 = 1;
/// The relative position buckets HF's `compute_position_bias` uses.
pub const NUM_BUCKETS: i64 = 32;
/// Relative distances from this one on share the last bucket of their direction.
pub const MAX_DISTANCE: i64 = 128;

/// The fields of an HF MPNet `config.json` that the encoder needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct MpNetConfig {
    pub vocab_size: i64,
    pub hidden_size: i64,
    pub num_hidden_layers: i64,
    pub num_attention_heads: i64,
    pub intermediate_size: i64,
    pub max_position_embeddings: i64,
    pub layer_norm_eps: f64,
    pub pad_token_id: i64,
    /// Only `gelu` (erf) is implemented; [`EncoderConfig::check`] refuses others.
    pub hidden_act: String,
    /// Only 32 (what HF computes with); [`EncoderConfig::check`] refuses others.
    pub relative_attention_num_buckets: i64,
}

impl Default for MpNetConfig {
    /// transformers 5.24.0's `MPNetConfig` defaults (all-mpnet-base-v2 sets
    /// `max_position_embeddings` 514 and `layer_norm_eps` 1e-5).
    fn default() -> Self {
        MpNetConfig {
            vocab_size: 30527,
            hidden_size: 768,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            intermediate_size: 3072,
            max_position_embeddings: 512,
            layer_norm_eps: 1e-12,
            pad_token_id: 1,
            hidden_act: "gelu".into(),
            relative_attention_num_buckets: NUM_BUCKETS,
        }
    }
}

impl EncoderConfig for MpNetConfig {
    fn check(&self, source: &Path) -> anyhow::Result<()> {
        check_layer(source, &self.hidden_act, self.num_attention_heads, self.hidden_size)?;
        anyhow::ensure!(
            self.relative_attention_num_buckets == NUM_BUCKETS,
            "{}: relative_attention_num_buckets `{}` is not supported (only {NUM_BUCKETS}, as HF computes)",
            source.display(),
            self.relative_attention_num_buckets
        );
        Ok(())
    }

    /// Positions start at 2 (`PADDING_IDX + 1`).
    fn max_tokens(&self) -> i64 {
        self.max_position_embeddings - PADDING_IDX - 1
    }

    fn hidden_size(&self) -> i64 {
        self.hidden_size
    }

    fn pad_token_id(&self) -> i64 {
        self.pad_token_id
    }
}

/// MPNet's names of a layer's attention parameters.
const ATTENTION: AttentionNames = AttentionNames {
    query: "attention.attn.q",
    key: "attention.attn.k",
    value: "attention.attn.v",
    out: "attention.attn.o",
    norm: "attention.LayerNorm",
};

/// HF's `relative_position_bucket` (T5's bidirectional bucketing with [`NUM_BUCKETS`] and
/// [`MAX_DISTANCE`]) of relative positions (key position − query position), in HF's order of
/// float32 operations, on the CPU (so that the buckets on a boundary, such as distance 64, fall
/// as HF's on the CPU put them).
pub fn relative_position_bucket(relative: &Tensor) -> anyhow::Result<Tensor> {
    let n = -relative.f_to_device(Device::Cpu)?.f_to_kind(Kind::Int64)?;
    let half = NUM_BUCKETS / 2;
    let backward = n.f_lt(0)?.f_to_kind(Kind::Int64)? * half;
    let n = n.f_abs()?;
    let max_exact = half / 2;
    let is_small = n.f_lt(max_exact)?;
    let scale = ((MAX_DISTANCE / max_exact) as f64).ln();
    let log = ((n.f_to_kind(Kind::Float)? / max_exact as f64).f_log()? / scale * (half - max_exact) as f64)
        .f_to_kind(Kind::Int64)?;
    let large = (log + max_exact).f_clamp_max(half - 1)?;
    Ok(backward + n.f_where_self(&is_small, &large)?)
}

/// The encoder: embeddings, the shared relative position bias and layers (no pooler); built and
/// run as an [`Encoder`].
pub struct MpNet {
    word: nn::Embedding,
    position: nn::Embedding,
    norm: nn::LayerNorm,
    relative_bias: nn::Embedding,
    layers: Vec<Layer>,
    pub config: MpNetConfig,
}

impl MpNet {
    /// The relative position bias `[1, heads, t, t]` of a sequence of `t` tokens.
    pub fn position_bias(&self, t: i64) -> anyhow::Result<Tensor> {
        let pos = Tensor::arange(t, (Kind::Int64, Device::Cpu));
        let buckets = relative_position_bucket(&(pos.unsqueeze(0) - pos.unsqueeze(1)))?;
        let buckets = buckets.f_to_device(self.relative_bias.ws.device())?;
        Ok(self.relative_bias.forward(&buckets).f_permute([2, 0, 1])?.unsqueeze(0))
    }
}

impl Encoder for MpNet {
    type Config = MpNetConfig;

    fn build(p: nn::Path<'_>, cfg: &MpNetConfig) -> Self {
        let emb = &p / "embeddings";
        let h = cfg.hidden_size;
        let dims = Dims {
            hidden: h,
            intermediate: cfg.intermediate_size,
            heads: cfg.num_attention_heads,
            layer_norm_eps: cfg.layer_norm_eps,
        };
        let enc = &p / "encoder";
        MpNet {
            word: nn::embedding(&emb / "word_embeddings", cfg.vocab_size, h, Default::default()),
            position: nn::embedding(&emb / "position_embeddings", cfg.max_position_embeddings, h, Default::default()),
            norm: layer_norm(&emb / "LayerNorm", dims),
            relative_bias: nn::embedding(
                &enc / "relative_attention_bias",
                cfg.relative_attention_num_buckets,
                cfg.num_attention_heads,
                Default::default(),
            ),
            layers: (0..cfg.num_hidden_layers).map(|i| Layer::new(&enc / "layer" / i, dims, &ATTENTION)).collect(),
            config: cfg.clone(),
        }
    }

    fn hidden_states(&self, ids: &Tensor, mask: &Tensor) -> anyhow::Result<Tensor> {
        let (b, t) = ids.size2()?;
        let real = ids.f_ne(PADDING_IDX)?.f_to_kind(Kind::Int64)?;
        let positions = real.f_cumsum(1, Kind::Int64)? * &real + PADDING_IDX;
        let x = embed(&self.word, &self.position, ids, &positions, self.config.max_tokens())?;
        let mut x = self.norm.forward(&x);
        // HF's additive mask: 0 where a key may be attended to, the lowest float where not.
        let blocked =
            mask.f_to_kind(Kind::Float)?.f_neg()?.f_add_scalar(1.0)?.f_view([b, 1, 1, t])? * f64::from(f32::MIN);
        let scores_bias = self.position_bias(t)? + blocked;
        for layer in &self.layers {
            x = layer.forward(&x, &scores_bias)?;
        }
        Ok(x)
    }

    fn config(&self) -> &MpNetConfig {
        &self.config
    }
}
