//! Backbones: model families that build a classifier of a named size, each a thin registration
//! over the model library `w2s_models` (architectures, formats, tokenizers and heads live there).
//! The three decoder backbones (`smollm2`, `hf-decoder`, `gpt2`) share their parameters and their
//! wiring (`decoder`), and so do the two pretrained encoders (`minilm`, `mpnet`: `encoder`).

pub mod bow;
pub mod decoder;
pub mod encoder;
pub mod gpt2;
pub mod hf_decoder;
pub mod minilm;
pub mod mpnet;
pub mod smollm2;
pub mod transformer;

use std::path::PathBuf;

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

/// `Backbone::data_files` of a backbone whose `path` parameter names a user's checkpoint (empty:
/// a fetched asset, which is not a data file).
pub fn path_files(path: &str) -> Vec<PathBuf> {
    if path.is_empty() {
        Vec::new()
    } else {
        vec![PathBuf::from(path)]
    }
}
