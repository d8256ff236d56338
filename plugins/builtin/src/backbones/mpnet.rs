//! `mpnet`: a pretrained MPNet encoder (Song et al. 2020, "MPNet: Masked and Permuted
//! Pre-training for Language Understanding") from an HF folder (`config.json`,
//! `model.safetensors`, `tokenizer.json`); by default sentence-transformers' all-mpnet-base-v2
//! (12 layers, hidden 768, 110M parameters; mean pooling), fetched on demand by
//! `scripts/fetch.sh mpnet`. `max_len` defaults to 384, the model's sentence-transformers
//! `max_seq_length`. The encoder is `w2s_models::arch::mpnet`; the wiring is the encoder
//! backbones' (`encoder`), as `minilm`'s.

use w2s_models::arch::mpnet::MpNet as MpNetEncoder;

use super::encoder::{EncoderParams, Family, Pretrained};

/// Size of the fetched all-mpnet-base-v2 `model.safetensors`.
pub const MPNET_WEIGHTS_SIZE: u64 = 437_971_872;

/// MPNet, by default all-mpnet-base-v2.
pub struct MpNetFamily;

impl Family for MpNetFamily {
    type Encoder = MpNetEncoder;
    const ASSET: &'static str = "mpnet";
    const WEIGHTS_SIZE: u64 = MPNET_WEIGHTS_SIZE;
    const ARCH: &'static str = "MPNet";
    const CACHE_KEY: &'static str = "mpnet";
    const DEFAULT_MAX_LEN: usize = 384;
}

/// `path` (an HF MPNet folder; empty: the fetched all-mpnet-base-v2), `mode`, `pooling`,
/// `max_len` (default 384).
pub type MpNetParams = EncoderParams<MpNetFamily>;
pub type MpNet = Pretrained<MpNetFamily>;

w2s_core::register!(Backbone {
    name: "mpnet",
    description:
        "pretrained all-mpnet-base-v2 (MPNet, 110M params) or any HF MPNet folder; full fine-tuning or linear probe",
    params: MpNetParams,
    build: MpNet::new,
});
