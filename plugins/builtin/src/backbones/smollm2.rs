//! `smollm2`: a pretrained llama-type decoder from a GGUF file; by default SmolLM2-135M-Instruct
//! (Allal et al. 2025, "SmolLM2: When Smol Goes Big"), 30 layers, d = 576, 135M parameters,
//! 4-bit (Q4_1) weights dequantized to f32, fetched by `scripts/bootstrap.sh`. Optionally cut to
//! its first `layers` blocks (a weaker, cheaper model of the same family).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use w2s_core::{
    env::{verify_file, Expected},
    params::check,
    Backbone, Env, Model, Params,
};

use super::{classifier::Mode, decoder_classifier::DecoderClassifier, gguf::Gguf};

/// The fetched GGUF file and its size.
pub const SMOLLM2_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
pub const SMOLLM2_SIZE: u64 = 98_362_432;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmolLm2Params {
    /// A llama-type GGUF file; empty: the fetched SmolLM2-135M-Instruct.
    pub path: String,
    /// Keep only the first this many blocks (all when absent).
    pub layers: Option<usize>,
    /// Linear `probe` on frozen (cached) features, or `full` fine-tuning.
    pub mode: Mode,
    /// Longer texts are cut to their first this many tokens.
    pub max_len: usize,
}

impl Default for SmolLm2Params {
    fn default() -> Self {
        SmolLm2Params { path: String::new(), layers: None, mode: Mode::Probe, max_len: 128 }
    }
}

impl Params for SmolLm2Params {
    fn validate(&self) -> anyhow::Result<()> {
        check(self.max_len >= 1 && self.max_len <= 8192, "max_len", "a number in [1, 8192]")?;
        check(self.layers != Some(0), "layers", "at least 1 (or absent for all)")
    }
}

pub struct SmolLm2 {
    pub params: SmolLm2Params,
}

impl SmolLm2 {
    pub fn new(params: SmolLm2Params) -> anyhow::Result<Self> {
        Ok(SmolLm2 { params })
    }

    /// The GGUF file, checked: the fetched asset (size-verified) or the user's file.
    pub fn file(&self, env: &Env) -> anyhow::Result<PathBuf> {
        if self.params.path.is_empty() {
            let file = env.asset_dir("smollm2")?.join(SMOLLM2_FILE);
            verify_file(&file, Expected { size: SMOLLM2_SIZE, sha256: None })?;
            Ok(file)
        } else {
            let file = PathBuf::from(&self.params.path);
            anyhow::ensure!(file.is_file(), "GGUF file {} does not exist", file.display());
            Ok(file)
        }
    }
}

impl Backbone for SmolLm2 {
    fn build(&self, env: &Env, n_classes: usize) -> anyhow::Result<Box<dyn Model>> {
        let file = self.file(env)?;
        let g = Gguf::open(&file)?;
        let p = &self.params;
        let mut c = DecoderClassifier::new(env, &g, p.layers, n_classes, p.mode, p.max_len)?;
        let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        let file = std::fs::canonicalize(&file).unwrap_or(file);
        c.cache_key = Some(format!("gguf|{}|{size}|layers={:?}", file.display(), p.layers));
        Ok(Box::new(c))
    }
}

w2s_core::register!(Backbone {
    name: "smollm2",
    description:
        "pretrained SmolLM2-135M-Instruct (llama decoder, GGUF) or any llama GGUF, optionally cut to its first layers; \
                  last-token features; linear probe (default) or full fine-tuning",
    params: SmolLm2Params,
    build: SmolLm2::new,
});

#[cfg(test)]
mod tests {
    use w2s_core::Inputs;

    use super::*;

    #[test]
    fn probe_features_are_the_last_real_token_and_cached() {
        let env = Env { show_progress: false, ..Env::from_env() };
        let params = SmolLm2Params { layers: Some(2), ..Default::default() };
        params.validate().unwrap();
        let backbone = SmolLm2::new(params).unwrap();
        let mut model = backbone.build(&env, 3).unwrap();
        let texts = ["a short one", "a somewhat longer text with more tokens in it", "a short one"];
        let Inputs::Features(f) = model.encode(&texts, &env).unwrap() else { panic!("probe gives features") };
        assert_eq!(f.size(), [3, 576]);
        // The same text alone or batched with a longer one (right padding): the same features.
        let diff = (f.get(0) - f.get(2)).abs().max().double_value(&[]);
        assert!(diff < 1e-4, "{diff}");
        let again = model.encode(&texts, &env).unwrap();
        let Inputs::Features(g) = again else { panic!() };
        assert!(f.equal(&g));
        // The zero head gives zero logits; only the head trains.
        let logits = model.logits(&Inputs::Features(f), &[0, 1], true).unwrap();
        assert_eq!(logits.size(), [2, 3]);
        assert_eq!(logits.abs().sum(tch::Kind::Float).double_value(&[]), 0.0);
        assert_eq!(model.var_store().trainable_variables().len(), 1);
    }

    #[test]
    fn full_mode_trains_everything_and_bad_params_are_refused() {
        let env = Env { show_progress: false, ..Env::from_env() };
        let params = SmolLm2Params { layers: Some(1), mode: Mode::Full, max_len: 8, ..Default::default() };
        let mut model = SmolLm2::new(params).unwrap().build(&env, 2).unwrap();
        let inputs = model.encode(&["one", "two words"], &env).unwrap();
        assert!(matches!(inputs, Inputs::Tokens(_)));
        assert_eq!(model.logits(&inputs, &[0, 1], true).unwrap().size(), [2, 2]);
        // Embeddings, 9 per block, the final norm, and the head.
        assert_eq!(model.var_store().trainable_variables().len(), 1 + 9 + 1 + 1);
        assert!(SmolLm2Params { layers: Some(0), ..Default::default() }.validate().is_err());
        let missing = SmolLm2Params { path: "/nonexistent/model.gguf".into(), ..Default::default() };
        let err = SmolLm2::new(missing).unwrap().build(&env, 2).err().unwrap().to_string();
        assert!(err.contains("/nonexistent/model.gguf"), "{err}");
    }
}
