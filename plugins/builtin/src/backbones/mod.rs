//! Backbones: model families that build a classifier of a named size.

pub mod bert;
pub mod bow;
pub mod classifier;
pub mod decoder_classifier;
pub mod feature_cache;
pub mod generative;
pub mod gguf;
pub mod gguf_tokenizer;
pub mod gpt2;
pub mod hf;
pub mod hf_decoder;
pub mod language_model;
pub mod llama;
pub mod minilm;
pub mod smollm2;
pub mod tokenizer;
pub mod transformer;

use serde::{Deserialize, Serialize};
use tch::nn;

/// The sizes of a from-scratch family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Size {
    Tiny,
    #[default]
    Small,
    Base,
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
