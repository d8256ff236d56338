//! Backbones: model families that build a classifier of a named size, each a registration over
//! the model library `w2s_models` (architectures, formats, tokenizers and heads live there).

pub mod bow;
pub mod gpt2;
pub mod hf;
pub mod hf_decoder;
pub mod minilm;
pub mod smollm2;
pub mod transformer;

use serde::{Deserialize, Serialize};

/// The sizes of a from-scratch family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Size {
    Tiny,
    #[default]
    Small,
    Base,
}
