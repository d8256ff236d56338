//! # w2s-models
//!
//! The model library under w2s's backbones, in the manner of candle-transformers' `models/`: one
//! file per architecture over shared layers, one per checkpoint format, and the heads that make
//! classifiers and language models of them. It registers no component, so any plugin can depend
//! on it (the registered backbones are in `w2s-builtin`).
//!
//! - [`layers`]: parameters valued by an [`Init`](layers::Init), linear layers, norms, causal
//!   attention, the last real token, the zero head;
//! - [`arch`]: the encoders BERT and MPNet (over `arch::encoder`), llama-type decoders (llama,
//!   qwen2), GPT-2; [`trunk::Trunk`], what a decoder offers the heads;
//! - [`format`]: GGUF (with ggml's quantized types) and HF safetensors folders;
//! - [`load`]: an architecture read from a format (llama from GGUF or HF, GPT-2 from HF);
//! - [`tokenize`]: HF, GPT-2 BPE and GGUF tokenizers, and [`tokenize::Tokens`];
//! - [`options`]: `Mode`, `Pooling`, `Precision`, `TooLong`;
//! - [`heads`]: the encoder classifier, the decoder last-token classifier, the decoder language
//!   model;
//! - [`feature_cache`]: frozen-trunk features cached on disk; [`generative`]: next-token
//!   fine-tuning on a task's texts.
//!
//! Modules depend on each other in one direction only (no cycle): `layers`, `options`, `trunk`,
//! `feature_cache`, `format::ggml`, `format::safetensors` and `tokenize::hf` on none of the
//! others; `format::gguf` on `format::ggml`; `arch` on `layers` and `trunk`; `load` on `arch` and
//! `format`; `tokenize` on `format::gguf`; `heads` on `layers`, `options`, `trunk`, `tokenize`,
//! `feature_cache` (and `heads::encoder` on `arch::{encoder, bert, mpnet}`); `generative` on
//! `trunk`, `tokenize` and `feature_cache`. No architecture imports a format, a head or a loader.

pub mod arch;
pub mod feature_bank;
pub mod feature_cache;
pub mod format;
pub mod generative;
pub mod heads;
pub mod layers;
pub mod load;
pub mod options;
pub mod rope;
pub mod tokenize;
pub mod trunk;

#[cfg(any(test, feature = "testing"))]
pub mod testing;
