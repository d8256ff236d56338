//! A text classifier over a BERT-type encoder: pooled hidden states and a zero-initialised
//! bias-free head. Trained fully, or as a linear probe on frozen features (computed once and
//! cached on disk, keyed by the encoder, its settings and the texts).

use std::{path::PathBuf, sync::Arc};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tch::{nn, nn::Module, Device, Tensor};
use tokenizers::Tokenizer;
use w2s_core::{backbone::masked_mean, backbone::pad_batch, progress, Env, Inputs, Model};

use super::{bert::Bert, tokenizer, zero_head};

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
}

/// An encoder + head classifier.
pub struct BertClassifier {
    trainable: nn::VarStore,
    _frozen: Option<nn::VarStore>,
    trunk: Bert,
    head: nn::Linear,
    tok: Arc<Tokenizer>,
    pub max_len: usize,
    pub pooling: Pooling,
    pub mode: Mode,
    /// Identifies the encoder's weights for the feature cache (`None`: do not cache).
    pub cache_key: Option<String>,
}

impl BertClassifier {
    /// Build the encoder from `cfg`, load `weights` (if any), and add a head for `n_classes`.
    pub fn new(
        env: &Env,
        cfg: &super::bert::BertConfig,
        weights: Option<&std::path::Path>,
        tokenizer_path: &std::path::Path,
        n_classes: usize,
        mode: Mode,
        pooling: Pooling,
        max_len: usize,
    ) -> anyhow::Result<Self> {
        let tok = tokenizer::load(tokenizer_path)?;
        let device = env.device;
        let (trainable, frozen, trunk, head) = match mode {
            Mode::Full => {
                let mut vs = nn::VarStore::new(device);
                let trunk = Bert::new(vs.root(), cfg);
                let head = zero_head(vs.root() / "head", cfg.hidden_size, n_classes);
                if let Some(w) = weights {
                    let missing = vs.load_partial(w).with_context(|| format!("loading weights {}", w.display()))?;
                    let missing: Vec<_> = missing.into_iter().filter(|m| !m.starts_with("head.")).collect();
                    anyhow::ensure!(missing.is_empty(), "{} lacks tensors {missing:?}", w.display());
                }
                (vs, None, trunk, head)
            }
            Mode::Probe => {
                let mut frozen = nn::VarStore::new(device);
                let trunk = Bert::new(frozen.root(), cfg);
                if let Some(w) = weights {
                    frozen.load(w).with_context(|| format!("loading weights {}", w.display()))?;
                }
                frozen.freeze();
                let vs = nn::VarStore::new(device);
                let head = zero_head(vs.root() / "head", cfg.hidden_size, n_classes);
                (vs, Some(frozen), trunk, head)
            }
        };
        Ok(BertClassifier { trainable, _frozen: frozen, trunk, head, tok, max_len, pooling, mode, cache_key: None })
    }

    /// Pooled encoder output `[b, d]` for rows of tokenized texts.
    pub fn pooled(&self, tokens: &[Vec<i64>], rows: &[usize]) -> Tensor {
        let (ids, mask) = pad_batch(tokens, rows, self.trunk.config.pad_token_id, self.trainable.device());
        let hidden = self.trunk.forward(&ids, &mask);
        match self.pooling {
            Pooling::Mean => masked_mean(&hidden, &mask),
            Pooling::Cls => hidden.select(1, 0),
        }
    }

    /// Token ids of texts.
    pub fn tokenize(&self, texts: &[&str]) -> anyhow::Result<Vec<Vec<i64>>> {
        tokenizer::encode(&self.tok, texts, self.max_len)
    }

    /// Pooled features of every text (no gradient), in batches, on the CPU.
    pub fn features(&self, texts: &[&str], env: &Env) -> anyhow::Result<Tensor> {
        let _guard = tch::no_grad_guard();
        let tokens = self.tokenize(texts)?;
        let mut order: Vec<usize> = (0..tokens.len()).collect();
        order.sort_by_key(|&i| tokens[i].len());
        let bar = progress::bar(env, texts.len() as u64, "encoding features");
        let mut out = Tensor::zeros([texts.len() as i64, self.trunk.config.hidden_size], (tch::Kind::Float, Device::Cpu));
        for rows in order.chunks(64) {
            let f = self.pooled(&tokens, rows).to_device(Device::Cpu);
            let idx = Tensor::from_slice(&rows.iter().map(|&r| r as i64).collect::<Vec<_>>());
            out = out.index_copy(0, &idx, &f);
            bar.inc(rows.len() as u64);
        }
        bar.finish_and_clear();
        Ok(out)
    }

    fn feature_cache_path(&self, texts: &[&str], env: &Env) -> anyhow::Result<Option<PathBuf>> {
        let Some(key) = &self.cache_key else { return Ok(None) };
        let mut h = Sha256::new();
        h.update(format!("{key}|{}|{:?}|", self.max_len, self.pooling));
        for t in texts {
            h.update(t.as_bytes());
            h.update([0u8]);
        }
        let name: String = h.finalize().iter().take(12).map(|b| format!("{b:02x}")).collect();
        Ok(Some(env.derived_dir("features")?.join(format!("{name}.pt"))))
    }
}

impl Model for BertClassifier {
    fn encode(&mut self, texts: &[&str], env: &Env) -> anyhow::Result<Inputs> {
        if self.mode == Mode::Full {
            return Ok(Inputs::Tokens(self.tokenize(texts)?));
        }
        let path = self.feature_cache_path(texts, env)?;
        if let Some(p) = path.as_ref().filter(|p| p.exists()) {
            if let Ok(t) = Tensor::load(p) {
                if t.size()[0] == texts.len() as i64 {
                    return Ok(Inputs::Features(t));
                }
            }
            tracing::warn!("feature cache {} is unreadable; recomputing", p.display());
        }
        let feats = self.features(texts, env)?;
        if let Some(p) = path {
            let tmp = p.with_extension(format!("tmp-{}", std::process::id()));
            feats.save(&tmp)?;
            std::fs::rename(&tmp, &p)?;
        }
        Ok(Inputs::Features(feats))
    }

    fn logits(&self, inputs: &Inputs, rows: &[usize], _train: bool) -> anyhow::Result<Tensor> {
        let pooled = match inputs {
            Inputs::Tokens(t) => self.pooled(t, rows),
            Inputs::Features(f) => {
                let idx = Tensor::from_slice(&rows.iter().map(|&r| r as i64).collect::<Vec<_>>());
                f.index_select(0, &idx).to_device(self.trainable.device())
            }
        };
        Ok(self.head.forward(&pooled))
    }

    fn var_store(&self) -> &nn::VarStore {
        &self.trainable
    }
}
