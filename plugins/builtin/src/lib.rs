//! # w2s-builtin
//!
//! The components that ship with w2s, each registered with [`w2s_core::register!`]:
//! - objectives: `xent`, `logconf` (auxiliary confidence loss with the correct linear warm-up),
//!   `logconf-openai` (the reference code's warm-up), `logconf-buffered`, `entropy`, `product`,
//!   `kl`, `window`, `adaptconf` (per-example weak label vs own argmax by relative confidence);
//! - weak labelers: `ground-truth`, `model`, `noise`, `flip` (systematic errors), the filters
//!   `confident` and `easy` around any other labeler, `ensemble` (several labelers combined by
//!   mean, vote or weights learned from their agreement), and the denoisers `probe-filter`,
//!   `probe-relabel` and `confident-learning` (a cross-fitted probe on a backbone's features);
//! - backbones: `bow` and `transformer` (from scratch, three sizes each), `minilm` (BERT-type,
//!   pretrained, fine-tuned fully or as a linear probe), `smollm2` (llama-type decoder read from
//!   GGUF, truncatable to its first k blocks; linear probe on the last real token or full),
//!   `hf-decoder` (llama/qwen2 from an HF folder) and `gpt2`, each a thin registration over the
//!   model library [`models`] (`w2s-models`).
//!
//! Call [`link`] from a binary so that the linker keeps this crate (and its registrations).

pub mod backbones;
pub mod criteria;
pub mod labelers;
pub mod objectives;

/// The model library the backbones are built on (architectures, formats, tokenizers, heads),
/// for crates that name its types through this one.
pub use w2s_models as models;

/// Reference this from a binary to make sure the crate is linked and its components registered.
pub fn link() {}
