//! Checkpoint file formats: GGUF (llama.cpp; with ggml's quantized tensor types) and HF
//! safetensors folders. Readers only: they know nothing of the architectures stored in them.

pub mod ggml;
pub mod gguf;
pub mod quants;
pub mod safetensors;
