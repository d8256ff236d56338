//! Architectures read from checkpoint formats: a llama-type decoder from a GGUF file or an HF
//! safetensors folder, Gemma 3 from a GGUF file (any GGUF decoder by its architecture:
//! `gguf_decoder`), GPT-2 from an HF folder; each cut, if asked, to its first blocks.

pub mod gemma3_gguf;
pub mod gguf_decoder;
pub mod gpt2_hf;
pub mod llama_gguf;
pub mod llama_hf;

use std::path::Path;

use anyhow::ensure;

/// The number of blocks to build: `layers` (checked against the `total` of `source`) or all.
pub fn depth(layers: Option<usize>, total: i64, source: &Path) -> anyhow::Result<i64> {
    match layers {
        None => Ok(total),
        Some(k) => {
            ensure!(k >= 1 && k as i64 <= total, "layers = {k}, but {} has {total} blocks", source.display());
            Ok(k as i64)
        }
    }
}
