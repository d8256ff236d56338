//! A text classifier over a pretrained encoder (any [`Encoder`]: BERT, Devlin et al. 2019; MPNet,
//! Song et al. 2020; sentence-transformers' mean pooling, Reimers & Gurevych 2019): pooled hidden
//! states and a zero-initialised bias-free head (as in OpenAI's `weak-to-strong` code). Trained
//! fully, or as a linear probe on frozen features (computed once and cached on disk, keyed by the
//! encoder, its settings and the texts).

use std::sync::Arc;

use anyhow::Context;
use tch::{nn, Tensor};
use tokenizers::Tokenizer;
use w2s_core::{backbone::masked_mean, backbone::pad_batch, Env};

use crate::{
    arch::{
        bert::Bert,
        encoder::{Encoder, EncoderConfig},
        mpnet::MpNet,
    },
    feature_cache::{self, Pooler},
    layers::zero_head,
    options::{Mode, Pooling},
    tokenize::hf,
};

/// An encoder + head classifier.
pub struct EncoderClassifier<E: Encoder> {
    trainable: nn::VarStore,
    _frozen: Option<nn::VarStore>,
    trunk: E,
    head: nn::Linear,
    tok: Arc<Tokenizer>,
    pub max_len: usize,
    pub pooling: Pooling,
    pub mode: Mode,
    /// Identifies the encoder's weights for the feature cache (`None`: do not cache).
    pub cache_key: Option<String>,
}

/// BERT (all-MiniLM-L6-v2, the from-scratch `transformer`) with a head.
pub type BertClassifier = EncoderClassifier<Bert>;
/// MPNet (all-mpnet-base-v2) with a head.
pub type MpNetClassifier = EncoderClassifier<MpNet>;

/// How an encoder classifier reads its texts: what trains, how tokens are pooled, where texts are cut.
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    pub mode: Mode,
    pub pooling: Pooling,
    pub max_len: usize,
}

impl<E: Encoder> EncoderClassifier<E> {
    /// Build the encoder from `cfg`, load `weights` (if any), and add a head for `n_classes`.
    pub fn new(
        env: &Env,
        cfg: &E::Config,
        weights: Option<&std::path::Path>,
        tokenizer_path: &std::path::Path,
        n_classes: usize,
        Reading { mode, pooling, max_len }: Reading,
    ) -> anyhow::Result<Self> {
        let tok = hf::load(tokenizer_path)?;
        let device = env.device;
        let (trainable, frozen, trunk, head) = match mode {
            Mode::Full => {
                let mut vs = nn::VarStore::new(device);
                let trunk = E::build(vs.root(), cfg);
                let head = zero_head(vs.root() / "head", trunk.config().hidden_size(), n_classes);
                if let Some(w) = weights {
                    let missing = vs.load_partial(w).with_context(|| format!("loading weights {}", w.display()))?;
                    let missing: Vec<_> = missing.into_iter().filter(|m| !m.starts_with("head.")).collect();
                    anyhow::ensure!(missing.is_empty(), "{} lacks tensors {missing:?}", w.display());
                }
                (vs, None, trunk, head)
            }
            Mode::Top => anyhow::bail!("mode `top` is for decoder backbones (smollm2, gpt2, hf-decoder)"),
            Mode::Probe => {
                let mut frozen = nn::VarStore::new(device);
                let trunk = E::build(frozen.root(), cfg);
                if let Some(w) = weights {
                    frozen.load(w).with_context(|| format!("loading weights {}", w.display()))?;
                }
                frozen.freeze();
                let vs = nn::VarStore::new(device);
                let head = zero_head(vs.root() / "head", trunk.config().hidden_size(), n_classes);
                (vs, Some(frozen), trunk, head)
            }
        };
        Ok(EncoderClassifier { trainable, _frozen: frozen, trunk, head, tok, max_len, pooling, mode, cache_key: None })
    }

    /// Pooled features of every text (no gradient), in batches, on the CPU.
    pub fn features(&self, texts: &[&str], env: &Env) -> anyhow::Result<Tensor> {
        feature_cache::features(self, texts, env)
    }
}

impl<E: Encoder> Pooler for EncoderClassifier<E> {
    fn tokenize(&self, texts: &[&str]) -> anyhow::Result<Vec<Vec<i64>>> {
        hf::encode(&self.tok, texts, self.max_len)
    }

    fn pooled(&self, tokens: &[Vec<i64>], rows: &[usize]) -> anyhow::Result<Tensor> {
        let (ids, mask) = pad_batch(tokens, rows, self.trunk.config().pad_token_id(), self.trainable.device());
        let hidden = self.trunk.hidden_states(&ids, &mask)?;
        Ok(match self.pooling {
            Pooling::Mean => masked_mean(&hidden, &mask),
            Pooling::Cls => hidden.f_select(1, 0)?,
        })
    }

    fn dim(&self) -> i64 {
        self.trunk.config().hidden_size()
    }

    fn probe_settings(&self) -> Option<String> {
        (self.mode == Mode::Probe).then(|| format!("{}|{:?}", self.max_len, self.pooling))
    }

    fn cache_key(&self) -> Option<&str> {
        self.cache_key.as_deref()
    }
}

feature_cache::pooled_head_model!([E: Encoder] EncoderClassifier<E>);
