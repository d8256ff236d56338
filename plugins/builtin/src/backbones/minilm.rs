//! `minilm`: a pretrained BERT-type encoder from an HF folder (`config.json`,
//! `model.safetensors`, `tokenizer.json`); by default all-MiniLM-L6-v2 (Wang et al. 2020,
//! "MiniLM: Deep Self-Attention Distillation"; sentence-transformers fine-tune), 6 layers,
//! hidden 384, 22.7M parameters, fetched by `scripts/bootstrap.sh`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use w2s_core::{
    env::{verify_file, Expected},
    params::check,
    Backbone, Env, Inputs, Model, Params,
};

use w2s_models::{
    arch::bert::BertConfig,
    heads::bert::{BertClassifier, Reading},
    options::{Mode, Pooling},
};

use super::path_files;

/// Size of the fetched all-MiniLM-L6-v2 `model.safetensors`.
pub const MINILM_WEIGHTS_SIZE: u64 = 90_868_376;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MiniLmParams {
    /// An HF BERT-type folder; empty: the fetched all-MiniLM-L6-v2.
    pub path: String,
    /// `full` fine-tuning or linear `probe` on frozen (cached) features.
    pub mode: Mode,
    pub pooling: Pooling,
    /// Longer texts are cut to this many tokens.
    pub max_len: usize,
}

impl Default for MiniLmParams {
    fn default() -> Self {
        MiniLmParams { path: String::new(), mode: Mode::Full, pooling: Pooling::Mean, max_len: 128 }
    }
}

impl Params for MiniLmParams {
    fn validate(&self) -> anyhow::Result<()> {
        check(self.max_len >= 2 && self.max_len <= 512, "max_len", "a number in [2, 512]")
    }
}

pub struct MiniLm {
    pub params: MiniLmParams,
}

impl MiniLm {
    pub fn new(params: MiniLmParams) -> anyhow::Result<Self> {
        Ok(MiniLm { params })
    }

    /// The checkpoint folder, checked: the fetched asset (size-verified) or the user's folder.
    pub fn folder(&self, env: &Env) -> anyhow::Result<PathBuf> {
        if self.params.path.is_empty() {
            let dir = env.asset_dir("minilm")?;
            verify_file(&dir.join("model.safetensors"), Expected { size: MINILM_WEIGHTS_SIZE, sha256: None })?;
            Ok(dir)
        } else {
            let dir = PathBuf::from(&self.params.path);
            for f in ["config.json", "model.safetensors", "tokenizer.json"] {
                anyhow::ensure!(dir.join(f).exists(), "BERT checkpoint folder {} has no {f}", dir.display());
            }
            Ok(dir)
        }
    }

    /// Load the classifier for `n_classes` from `dir`.
    pub fn load(&self, env: &Env, dir: &Path, n_classes: usize) -> anyhow::Result<BertClassifier> {
        let cfg_path = dir.join("config.json");
        let text = std::fs::read_to_string(&cfg_path).with_context(|| format!("reading {}", cfg_path.display()))?;
        let cfg: BertConfig = serde_json::from_str(&text).with_context(|| format!("parsing {}", cfg_path.display()))?;
        cfg.check(&cfg_path)?;
        let weights = dir.join("model.safetensors");
        let mut c = BertClassifier::new(
            env,
            &cfg,
            Some(&weights),
            &dir.join("tokenizer.json"),
            n_classes,
            Reading { mode: self.params.mode, pooling: self.params.pooling, max_len: self.params.max_len },
        )?;
        let size = std::fs::metadata(&weights).map(|m| m.len()).unwrap_or(0);
        c.cache_key = Some(format!("bert|{}|{size}", std::fs::canonicalize(&weights).unwrap_or(weights).display()));
        Ok(c)
    }
}

impl Backbone for MiniLm {
    fn data_files(&self) -> Vec<PathBuf> {
        path_files(&self.params.path)
    }

    fn build(&self, env: &Env, n_classes: usize) -> anyhow::Result<Box<dyn Model>> {
        let dir = self.folder(env)?;
        Ok(Box::new(self.load(env, &dir, n_classes)?))
    }

    /// The pooled features of the frozen encoder that its `probe` mode trains on (same pooling,
    /// `max_len` and feature cache), whatever its `mode`.
    fn features(&self, env: &Env, texts: &[&str]) -> anyhow::Result<Option<tch::Tensor>> {
        let probe = MiniLm { params: MiniLmParams { mode: Mode::Probe, ..self.params.clone() } };
        let dir = probe.folder(env)?;
        match probe.load(env, &dir, 2)?.encode(texts, env)? {
            Inputs::Features(f) => Ok(Some(f)),
            Inputs::Tokens(_) => anyhow::bail!("a BERT probe gave token inputs, not features"),
        }
    }
}

w2s_core::register!(Backbone {
    name: "minilm",
    description:
        "pretrained all-MiniLM-L6-v2 (BERT, 22.7M params) or any HF BERT folder; full fine-tuning or linear probe",
    params: MiniLmParams,
    build: MiniLm::new,
});
