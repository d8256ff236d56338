//! The parameters shared by the backbones that load a decoder from an HF folder (`hf-decoder`,
//! `gpt2`), and their classifier assembly over `w2s_models`.

use std::sync::Arc;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tch::nn;
use tokenizers::Tokenizer;
use w2s_core::{params::check, Env, Params};
use w2s_models::{
    format::safetensors::{HfCheckpoint, EXPECTED_FILES},
    heads::decoder::{DecoderClassifier, Loader},
    options::{Mode, Precision, TooLong},
    tokenize::Tokens,
    trunk::Trunk,
};

/// Parameters of a backbone that loads a pretrained decoder from an HF folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HfDecoderParams {
    /// The HF checkpoint folder (required).
    pub path: String,
    /// Keep only the first this many blocks (all when absent).
    pub layers: Option<usize>,
    /// Linear `probe` on frozen (cached) features, `full` fine-tuning, or `top`: the top
    /// `top_k` blocks only.
    pub mode: Mode,
    /// The number of trained blocks of mode `top` (only with it).
    pub top_k: Option<usize>,
    /// Longer texts are cut to their first this many tokens.
    pub max_len: usize,
    /// `f32` or `bf16`: the number format of a probe's frozen trunk.
    pub precision: Precision,
    /// Texts longer than `max_len`: `truncate` (keep the first tokens) or `drop` (do not train on
    /// them); either way they are counted in the log.
    pub too_long: TooLong,
}

impl Default for HfDecoderParams {
    fn default() -> Self {
        HfDecoderParams {
            path: String::new(),
            layers: None,
            mode: Mode::Probe,
            top_k: None,
            max_len: 128,
            precision: Precision::F32,
            too_long: TooLong::Truncate,
        }
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

impl Params for HfDecoderParams {
    fn validate(&self) -> anyhow::Result<()> {
        check(!self.path.is_empty(), "path", &format!("an HF checkpoint folder ({EXPECTED_FILES})"))?;
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

/// A last-token classifier (see `decoder_classifier`) over the trunk that `build` loads from
/// `ck`, with `tok` (the tokenizer and where it came from, for the feature cache key). The trunk
/// has `blocks` blocks (`layers` applied) of width `hidden`. A probe loads it only on a
/// feature-cache miss (`ck` is then opened again: only its headers are read).
pub fn classifier(
    env: &Env,
    p: &HfDecoderParams,
    n_classes: usize,
    ck: &HfCheckpoint,
    (tok, tok_source): (Arc<Tokenizer>, String),
    (blocks, hidden): (usize, i64),
    build: impl Fn(&nn::VarStore, &HfCheckpoint) -> anyhow::Result<Box<dyn Trunk>> + 'static,
) -> anyhow::Result<DecoderClassifier> {
    let mut c = match p.mode {
        Mode::Probe => {
            let (dir, tok) = (ck.dir.clone(), tok.clone());
            let load: Loader = Box::new(move |vs: &nn::VarStore| {
                let ck = HfCheckpoint::open(&dir, "HF checkpoint folder")?;
                let trunk = build(vs, &ck).with_context(|| format!("building a classifier on {}", dir.display()))?;
                Ok((Tokens::hf(tok.clone()), trunk))
            });
            DecoderClassifier::lazy_probe(env, n_classes, p.max_len, (blocks, hidden), load)?
        }
        Mode::Full | Mode::Top => {
            let build = |vs: &nn::VarStore| build(vs, ck);
            DecoderClassifier::with_trunk(env, Tokens::hf(tok), n_classes, (p.mode, p.top_k), p.max_len, build)
                .with_context(|| format!("building a classifier on {}", ck.dir.display()))?
        }
    };
    c.set_precision(p.precision)?;
    c.too_long = p.too_long;
    c.cache_key = Some(ck.cache_key(&format!("layers={:?}|tokenizer={tok_source}", p.layers)));
    Ok(c)
}

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
