//! `minilm`: a pretrained BERT-type encoder from an HF folder (`config.json`,
//! `model.safetensors`, `tokenizer.json`); by default all-MiniLM-L6-v2 (Wang et al. 2020,
//! "MiniLM: Deep Self-Attention Distillation"; sentence-transformers fine-tune), 6 layers,
//! hidden 384, 22.7M parameters, fetched by `scripts/bootstrap.sh`. The wiring is the encoder
//! backbones' (`encoder`).

use w2s_models::arch::bert::Bert;

use super::encoder::{EncoderParams, Family, Pretrained};

/// Size of the fetched all-MiniLM-L6-v2 `model.safetensors`.
pub const MINILM_WEIGHTS_SIZE: u64 = 90_868_376;

/// BERT, by default all-MiniLM-L6-v2.
pub struct MiniLmFamily;

impl Family for MiniLmFamily {
    type Encoder = Bert;
    const ASSET: &'static str = "minilm";
    const WEIGHTS_SIZE: u64 = MINILM_WEIGHTS_SIZE;
    const ARCH: &'static str = "BERT";
    const CACHE_KEY: &'static str = "bert";
    const DEFAULT_MAX_LEN: usize = 128;
}

/// `path` (an HF BERT-type folder; empty: the fetched all-MiniLM-L6-v2), `mode`, `pooling`,
/// `max_len` (default 128).
pub type MiniLmParams = EncoderParams<MiniLmFamily>;
pub type MiniLm = Pretrained<MiniLmFamily>;

w2s_core::register!(Backbone {
    name: "minilm",
    description:
        "pretrained all-MiniLM-L6-v2 (BERT, 22.7M params) or any HF BERT folder; full fine-tuning or linear probe",
    params: MiniLmParams,
    build: MiniLm::new,
});
