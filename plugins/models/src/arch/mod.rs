//! Architectures: the models themselves, with HF parameter names, valued by any
//! [`Init`](crate::layers::Init) (see `load` for reading them from checkpoint files).

pub mod bert;
pub mod encoder;
pub mod gemma3;
pub mod gpt2;
pub mod llama;
pub mod mpnet;
