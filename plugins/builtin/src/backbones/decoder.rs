//! What the decoder backbones (`smollm2`, `hf-decoder`, `gpt2`) share, written once: their
//! parameters ([`decoder_params!`] writes each struct's common fields, [`DecoderSettings`] checks
//! them) and their wiring: opening the checkpoint, building the last-token classifier of
//! `w2s_models::heads::decoder` (a lazy probe, or a trunk that trains) and the language model of
//! `w2s_models::heads::lm`, over the per-architecture hooks of [`Decoder`] ([`decoder_backbone!`]
//! makes the `Backbone` of it).

use std::{path::Path, sync::Arc};

use anyhow::Context;
use tch::{nn, Tensor};
use tokenizers::Tokenizer;
use w2s_core::{params::check, prompting::LanguageModel, Backbone, Env, Inputs, Model, Params};
use w2s_models::{
    format::{
        gguf::Gguf,
        safetensors::{HfCheckpoint, EXPECTED_FILES},
    },
    heads::{
        decoder::{DecoderClassifier, Loader},
        lm::DecoderLm,
    },
    load,
    options::{Mode, Precision, TooLong},
    tokenize::Tokens,
    trunk::Trunk,
};

/// The parameters every decoder backbone has.
#[derive(Debug, Clone, Copy)]
pub struct DecoderSettings<'a> {
    pub path: &'a str,
    pub layers: Option<usize>,
    pub mode: Mode,
    pub top_k: Option<usize>,
    pub max_len: usize,
    pub precision: Precision,
    pub too_long: TooLong,
}

impl DecoderSettings<'_> {
    /// Check the common parameters; `path_expected`: what `path` names, when it must be given.
    pub fn validate(&self, path_expected: Option<&str>) -> anyhow::Result<()> {
        if let Some(expected) = path_expected {
            check(!self.path.is_empty(), "path", expected)?;
        }
        check(self.max_len >= 1 && self.max_len <= 8192, "max_len", "a number in [1, 8192]")?;
        check(self.layers != Some(0), "layers", "at least 1 (or absent for all)")?;
        check(
            self.precision == Precision::F32 || self.mode == Mode::Probe,
            "precision",
            "`f32` unless `mode` is `probe` (bf16 is for a frozen trunk)",
        )?;
        check_top_k(self.mode, self.top_k, self.layers)
    }
}

/// Check `top_k` against `mode` and `layers` (the number of blocks, when given).
pub fn check_top_k(mode: Mode, top_k: Option<usize>, layers: Option<usize>) -> anyhow::Result<()> {
    match (mode, top_k) {
        (Mode::Top, Some(k)) => check(
            k >= 1 && layers.is_none_or(|l| k <= l),
            "top_k",
            "a number of blocks from 1 to `layers` (the blocks trained in mode `top`)",
        ),
        (Mode::Top, None) => check(false, "top_k", "the number of top blocks to train (mode `top`)"),
        (_, Some(_)) => check(false, "top_k", "absent unless `mode` is `top`"),
        _ => Ok(()),
    }
}

/// A decoder backbone's parameter struct: `path` (documented by the caller), the fields of
/// [`DecoderSettings`] with their defaults, and the backbone's own fields (after `max_len`) with
/// theirs. Generated rather than nested with `#[serde(flatten)]`, which serde does not support
/// with `deny_unknown_fields`: the JSON of the parameters stays flat.
macro_rules! decoder_params {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(#[$path_doc:meta])*
            path,
            $($(#[$doc:meta])* pub $field:ident: $ty:ty = $default:expr,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            $(#[$path_doc])*
            pub path: String,
            /// Keep only the first this many blocks (all when absent).
            pub layers: Option<usize>,
            /// Linear `probe` on frozen (cached) features, `full` fine-tuning, or `top`: the top
            /// `top_k` blocks only.
            pub mode: w2s_models::options::Mode,
            /// The number of trained blocks of mode `top` (only with it).
            pub top_k: Option<usize>,
            /// Longer texts are cut to their first this many tokens.
            pub max_len: usize,
            $($(#[$doc])* pub $field: $ty,)*
            /// `f32` or `bf16`: the number format of a probe's frozen trunk.
            pub precision: w2s_models::options::Precision,
            /// Texts longer than `max_len`: `truncate` (keep the first tokens) or `drop` (do not
            /// train on them); either way they are counted in the log.
            pub too_long: w2s_models::options::TooLong,
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    path: String::new(),
                    layers: None,
                    mode: w2s_models::options::Mode::Probe,
                    top_k: None,
                    max_len: 128,
                    $($field: $default,)*
                    precision: w2s_models::options::Precision::F32,
                    too_long: w2s_models::options::TooLong::Truncate,
                }
            }
        }

        impl $name {
            /// The parameters every decoder backbone has.
            pub fn settings(&self) -> $crate::backbones::decoder::DecoderSettings<'_> {
                $crate::backbones::decoder::DecoderSettings {
                    path: &self.path,
                    layers: self.layers,
                    mode: self.mode,
                    top_k: self.top_k,
                    max_len: self.max_len,
                    precision: self.precision,
                    too_long: self.too_long,
                }
            }
        }
    };
}
pub(crate) use decoder_params;

decoder_params! {
    /// Parameters of a backbone that loads a pretrained decoder from an HF folder (`hf-decoder`,
    /// `gpt2`).
    pub struct HfDecoderParams {
        /// The HF checkpoint folder (required).
        path,
    }
}

impl Params for HfDecoderParams {
    fn validate(&self) -> anyhow::Result<()> {
        self.settings().validate(Some(format!("an HF checkpoint folder ({EXPECTED_FILES})").as_str()))
    }
}

/// A checkpoint opened by a decoder backbone: where it is, and how its texts are tokenized.
pub trait Opened {
    /// The file or folder, for messages.
    fn source(&self) -> &Path;
    fn tokens(&self) -> anyhow::Result<Tokens>;
}

impl Opened for Gguf {
    fn source(&self) -> &Path {
        &self.path
    }

    fn tokens(&self) -> anyhow::Result<Tokens> {
        Tokens::gguf(self)
    }
}

/// An opened HF folder and its tokenizer, with where the tokenizer came from (for the cache key).
pub struct HfFolder {
    pub ck: HfCheckpoint,
    pub tok: Arc<Tokenizer>,
    pub tok_source: String,
}

impl HfFolder {
    /// The feature cache key of the first `layers` blocks (`None`: all, keyed apart from `Some`).
    pub fn cache_key(&self, layers: Option<usize>) -> String {
        self.ck.cache_key(&format!("layers={layers:?}|tokenizer={}", self.tok_source))
    }
}

impl Opened for HfFolder {
    fn source(&self) -> &Path {
        &self.ck.dir
    }

    fn tokens(&self) -> anyhow::Result<Tokens> {
        Ok(Tokens::hf(self.tok.clone()))
    }
}

/// What differs between the decoder backbones: where the checkpoint is, how its architecture is
/// read, and how its features are keyed. The rest is [`classifier`] and [`language_model`].
pub trait Decoder: Clone + 'static {
    type Checkpoint: Opened;
    /// The parameters every decoder backbone has.
    fn settings(&self) -> DecoderSettings<'_>;
    /// Open the checkpoint; `header_only`: only what describes it (a probe's weights are read on a
    /// feature-cache miss only).
    fn open(&self, env: &Env, header_only: bool) -> anyhow::Result<Self::Checkpoint>;
    /// The number of blocks and the width of the whole model.
    fn shape(&self, ck: &Self::Checkpoint) -> anyhow::Result<(usize, i64)>;
    /// Its first `layers` blocks (all when `None`) in `vs`, with their weights.
    fn trunk(&self, vs: &nn::VarStore, ck: &Self::Checkpoint, layers: Option<usize>) -> anyhow::Result<Box<dyn Trunk>>;
    /// The feature cache key of the first `depth` of its `total` blocks.
    fn feature_key(&self, ck: &Self::Checkpoint, depth: usize, total: usize) -> String;
    /// Checks of the parameters against the checkpoint, before a classifier is built.
    fn check(&self, _ck: &Self::Checkpoint) -> anyhow::Result<()> {
        Ok(())
    }
    /// The other depths whose probe features the same pass writes (none by default).
    fn share_depths(&self, _ck: &Self::Checkpoint, _total: usize) -> anyhow::Result<Vec<usize>> {
        Ok(Vec::new())
    }
    /// This backbone in `mode` (without `top_k`), the rest of its parameters unchanged: how
    /// [`features`] reads the frozen trunk of a backbone configured to train.
    fn in_mode(&self, mode: Mode) -> Self;
    /// `Backbone::parameters` (unknown by default).
    fn parameters(&self, _env: &Env) -> anyhow::Result<Option<u64>> {
        Ok(None)
    }
    /// `Backbone::adapt_to_texts` (nothing to adapt by default).
    fn adapt(&self, _env: &Env, _texts: &[&str]) -> anyhow::Result<Option<Box<dyn Backbone>>> {
        Ok(None)
    }
}

/// `Backbone::build` of a decoder backbone: a last-token classifier for `n_classes`. A probe
/// reads only the checkpoint's header now and its weights on a feature-cache miss.
pub fn classifier<D: Decoder>(d: &D, env: &Env, n_classes: usize) -> anyhow::Result<Box<dyn Model>> {
    let p = d.settings();
    let ck = d.open(env, p.mode == Mode::Probe)?;
    let (total, hidden) = d.shape(&ck)?;
    d.check(&ck)?;
    let depth = load::depth(p.layers, total as i64, ck.source())? as usize;
    let shares = d.share_depths(&ck, total)?;
    let built = shares.iter().copied().chain([depth]).max().unwrap_or(depth);
    let building = |ck: &D::Checkpoint| format!("building a classifier on {}", ck.source().display());
    let mut c = match p.mode {
        Mode::Probe => {
            let (decoder, at) = (d.clone(), env.clone());
            let load: Loader = Box::new(move |vs: &nn::VarStore| {
                let ck = decoder.open(&at, false)?;
                let trunk = decoder.trunk(vs, &ck, Some(built)).with_context(|| building(&ck))?;
                Ok((ck.tokens()?, trunk))
            });
            DecoderClassifier::lazy_probe(env, n_classes, p.max_len, (built, hidden), load)?
        }
        Mode::Full | Mode::Top => {
            let build = |vs: &nn::VarStore| d.trunk(vs, &ck, Some(built));
            let train = (p.mode, p.top_k);
            DecoderClassifier::with_trunk(env, ck.tokens()?, n_classes, train, p.max_len, build)
                .with_context(|| building(&ck))?
        }
    };
    let keys = shares.into_iter().map(|s| (s, d.feature_key(&ck, s, total))).collect();
    c.share_depths(depth, keys)?;
    c.set_precision(p.precision)?;
    c.too_long = p.too_long;
    c.cache_key = Some(d.feature_key(&ck, depth, total));
    Ok(Box::new(c))
}

/// `Backbone::language_model` of a decoder backbone: its trunk cut to `layers`, with its output
/// layer.
pub fn language_model<D: Decoder>(d: &D, env: &Env) -> anyhow::Result<Option<Box<dyn LanguageModel>>> {
    let ck = d.open(env, false)?;
    let lm = DecoderLm::new(env, ck.tokens()?, |vs| d.trunk(vs, &ck, d.settings().layers))?;
    Ok(Some(Box::new(lm)))
}

/// `Backbone::features` of a decoder backbone: the features its linear probe trains on (the
/// last real token's hidden state at `layers`), through the same classifier and feature cache,
/// whatever its `mode`.
pub fn features<D: Decoder>(d: &D, env: &Env, texts: &[&str]) -> anyhow::Result<Option<Tensor>> {
    let mut probe = classifier(&d.in_mode(Mode::Probe), env, 2)?;
    match probe.encode(texts, env)? {
        Inputs::Features(f) => Ok(Some(f)),
        Inputs::Tokens(_) => anyhow::bail!("a decoder probe gave token inputs, not features"),
    }
}

/// `impl Backbone` for a [`Decoder`].
macro_rules! decoder_backbone {
    ($t:ty) => {
        impl w2s_core::Backbone for $t {
            fn data_files(&self) -> Vec<std::path::PathBuf> {
                $crate::backbones::path_files($crate::backbones::decoder::Decoder::settings(self).path)
            }

            fn build(&self, env: &w2s_core::Env, n_classes: usize) -> anyhow::Result<Box<dyn w2s_core::Model>> {
                $crate::backbones::decoder::classifier(self, env, n_classes)
            }

            fn language_model(
                &self,
                env: &w2s_core::Env,
            ) -> anyhow::Result<Option<Box<dyn w2s_core::prompting::LanguageModel>>> {
                $crate::backbones::decoder::language_model(self, env)
            }

            fn adapt_to_texts(
                &self,
                env: &w2s_core::Env,
                texts: &[&str],
            ) -> anyhow::Result<Option<Box<dyn w2s_core::Backbone>>> {
                $crate::backbones::decoder::Decoder::adapt(self, env, texts)
            }

            fn features(&self, env: &w2s_core::Env, texts: &[&str]) -> anyhow::Result<Option<tch::Tensor>> {
                $crate::backbones::decoder::features(self, env, texts)
            }

            fn parameters(&self, env: &w2s_core::Env) -> anyhow::Result<Option<u64>> {
                $crate::backbones::decoder::Decoder::parameters(self, env)
            }
        }
    };
}
pub(crate) use decoder_backbone;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The error of building a classifier and encoding a text with it (a probe loads its trunk,
    /// and so finds a bad checkpoint, only then), with its causes.
    pub(crate) fn first_use_error(built: anyhow::Result<Box<dyn w2s_core::Model>>, env: &Env) -> String {
        let err = match built {
            Err(e) => e,
            Ok(mut model) => model.encode(&["the the"], env).err().expect("an error on first use"),
        };
        format!("{err:#}")
    }

    #[test]
    fn hf_decoder_params_need_a_path() {
        assert!(HfDecoderParams::default().validate().unwrap_err().to_string().contains("path"));
    }
}
