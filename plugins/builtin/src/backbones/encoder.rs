//! What the pretrained encoder backbones (`minilm`, `mpnet`) share, written once: their
//! parameters ([`EncoderParams`], whose default `max_len` is the family's) and their wiring
//! ([`Pretrained`]): the checkpoint folder (the fetched asset, size-checked, or the user's
//! `path`), its `config.json` checked against what the encoder implements, the classifier of
//! `w2s_models::heads::encoder`, and the frozen encoder's probe features, over the constants of
//! a [`Family`].

use std::{
    marker::PhantomData,
    path::{Path, PathBuf},
};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use w2s_core::{
    env::{verify_file, Expected},
    params::check,
    Backbone, Env, Inputs, Model, Params,
};
use w2s_models::{
    arch::encoder::{Encoder, EncoderConfig},
    heads::encoder::{EncoderClassifier, Reading},
    options::{Mode, Pooling},
};

use super::path_files;

/// What differs between the pretrained encoder backbones.
pub trait Family: 'static {
    type Encoder: Encoder;
    /// The fetched default checkpoint (an asset folder), and the size of its `model.safetensors`.
    const ASSET: &'static str;
    const WEIGHTS_SIZE: u64;
    /// The architecture, in messages.
    const ARCH: &'static str;
    /// What the feature cache keys of its checkpoints start with.
    const CACHE_KEY: &'static str;
    /// The default of `max_len`.
    const DEFAULT_MAX_LEN: usize;
}

/// The parameters of a pretrained encoder backbone of family `F`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, bound = "")]
pub struct EncoderParams<F: Family> {
    /// An HF folder of the backbone's architecture; empty: the fetched default checkpoint.
    pub path: String,
    /// `full` fine-tuning or linear `probe` on frozen (cached) features.
    pub mode: Mode,
    pub pooling: Pooling,
    /// Longer texts are cut to this many tokens.
    pub max_len: usize,
    /// Whose parameters these are (a marker: the family gives `max_len` its default).
    #[serde(skip)]
    pub family: PhantomData<fn() -> F>,
}

impl<F: Family> Clone for EncoderParams<F> {
    fn clone(&self) -> Self {
        EncoderParams { path: self.path.clone(), ..*self }
    }
}

impl<F: Family> Default for EncoderParams<F> {
    fn default() -> Self {
        EncoderParams {
            path: String::new(),
            mode: Mode::Full,
            pooling: Pooling::Mean,
            max_len: F::DEFAULT_MAX_LEN,
            family: PhantomData,
        }
    }
}

impl<F: Family> Params for EncoderParams<F> {
    fn validate(&self) -> anyhow::Result<()> {
        check(self.max_len >= 2 && self.max_len <= 512, "max_len", "a number in [2, 512]")
    }
}

/// A pretrained encoder backbone of family `F`.
pub struct Pretrained<F: Family> {
    pub params: EncoderParams<F>,
}

impl<F: Family> Pretrained<F> {
    pub fn new(params: EncoderParams<F>) -> anyhow::Result<Self> {
        Ok(Pretrained { params })
    }

    /// The checkpoint folder, checked: the fetched asset (size-verified) or the user's folder.
    pub fn folder(&self, env: &Env) -> anyhow::Result<PathBuf> {
        if self.params.path.is_empty() {
            let dir = env.asset_dir(F::ASSET)?;
            verify_file(&dir.join("model.safetensors"), Expected { size: F::WEIGHTS_SIZE, sha256: None })?;
            Ok(dir)
        } else {
            let dir = PathBuf::from(&self.params.path);
            for f in ["config.json", "model.safetensors", "tokenizer.json"] {
                anyhow::ensure!(dir.join(f).exists(), "{} checkpoint folder {} has no {f}", F::ARCH, dir.display());
            }
            Ok(dir)
        }
    }

    /// Load the classifier for `n_classes` from `dir`.
    pub fn load(&self, env: &Env, dir: &Path, n_classes: usize) -> anyhow::Result<EncoderClassifier<F::Encoder>> {
        let cfg_path = dir.join("config.json");
        let text = std::fs::read_to_string(&cfg_path).with_context(|| format!("reading {}", cfg_path.display()))?;
        let cfg: <F::Encoder as Encoder>::Config =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", cfg_path.display()))?;
        cfg.check(&cfg_path)?;
        let max_len = self.params.max_len;
        anyhow::ensure!(
            max_len as i64 <= cfg.max_tokens(),
            "max_len {max_len} is more than the {} tokens that {} has positions for",
            cfg.max_tokens(),
            cfg_path.display()
        );
        let weights = dir.join("model.safetensors");
        let mut c = EncoderClassifier::new(
            env,
            &cfg,
            Some(&weights),
            &dir.join("tokenizer.json"),
            n_classes,
            Reading { mode: self.params.mode, pooling: self.params.pooling, max_len },
        )?;
        let size = std::fs::metadata(&weights).map(|m| m.len()).unwrap_or(0);
        let weights = std::fs::canonicalize(&weights).unwrap_or(weights);
        c.cache_key = Some(format!("{}|{}|{size}", F::CACHE_KEY, weights.display()));
        Ok(c)
    }
}

impl<F: Family> Backbone for Pretrained<F> {
    fn data_files(&self) -> Vec<PathBuf> {
        path_files(&self.params.path)
    }

    fn build(&self, env: &Env, n_classes: usize) -> anyhow::Result<Box<dyn Model>> {
        let dir = self.folder(env)?;
        Ok(Box::new(self.load(env, &dir, n_classes)?))
    }

    /// Every tensor of the checkpoint (embeddings, encoder layers and, if the file has one, its
    /// pooler), from the safetensors headers.
    fn parameters(&self, env: &Env) -> anyhow::Result<Option<u64>> {
        let dir = self.folder(env)?;
        Ok(Some(w2s_models::format::safetensors::HfCheckpoint::open(&dir, F::ARCH)?.parameters()))
    }

    /// The pooled features of the frozen encoder that its `probe` mode trains on (same pooling,
    /// `max_len` and feature cache), whatever its `mode`.
    fn features(&self, env: &Env, texts: &[&str]) -> anyhow::Result<Option<tch::Tensor>> {
        let probe = Self::new(EncoderParams { mode: Mode::Probe, ..self.params.clone() })?;
        let dir = probe.folder(env)?;
        match probe.load(env, &dir, 2)?.encode(texts, env)? {
            Inputs::Features(f) => Ok(Some(f)),
            Inputs::Tokens(_) => anyhow::bail!("a {} probe gave token inputs, not features", F::ARCH),
        }
    }
}
