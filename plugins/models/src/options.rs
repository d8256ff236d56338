//! The settings that classifiers over a pretrained trunk share: what trains (full fine-tuning, a
//! linear probe on frozen features as in Burns et al. 2023, "Weak-to-Strong Generalization", or
//! the top blocks), how an encoder's hidden states are pooled (sentence-transformers' mean, or
//! BERT's `[CLS]`), a frozen trunk's number format, and what to do with over-long texts.

use serde::{Deserialize, Serialize};

/// How the encoder's hidden states become one vector per text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// Mean over real tokens (sentence-transformers).
    #[default]
    Mean,
    /// The first token (`[CLS]`).
    Cls,
}

/// Which parameters train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Every parameter (full fine-tuning).
    #[default]
    Full,
    /// Only the head, on frozen features (linear probe).
    Probe,
    /// The top `top_k` blocks, the final norm and the head, on the frozen bottom's cached hidden
    /// states (decoder backbones only).
    Top,
}

/// The number format of a frozen trunk's weights and activations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit floats.
    #[default]
    F32,
    /// bfloat16 (half the memory; faster where the hardware has bf16 matmuls, e.g. GPUs and CPUs
    /// with AMX / AVX-512 BF16; emulated, so slower, elsewhere). Features are returned as f32.
    Bf16,
}

/// What a decoder does with a text longer than its `max_len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TooLong {
    /// Keep its first `max_len` tokens (counted in the log).
    #[default]
    Truncate,
    /// Do not train on it (counted in the log); predictions still see it truncated.
    Drop,
}
