//! `smollm2`: a pretrained llama-type decoder from a GGUF file; by default SmolLM2-135M-Instruct
//! (Allal et al. 2025, "SmolLM2: When Smol Goes Big"), 30 layers, d = 576, 135M parameters,
//! 4-bit (Q4_1) weights dequantized to f32, fetched by `scripts/bootstrap.sh`. Optionally cut to
//! its first `layers` blocks (a weaker, cheaper model of the same family).
//!
//! Parameters: `path` (a llama-type GGUF file; empty: the fetched SmolLM2), `layers` (keep the
//! first this many blocks; all when absent), `mode` (`probe`, the default: linear probe on frozen
//! cached features; `full`: fine-tune everything; `top`: fine-tune the top `top_k` blocks, the
//! final norm and the head on the cached hidden states of the frozen bottom), `top_k` (with
//! `top` only), `max_len` (texts are cut to their first this many tokens; default 128),
//! `share_depths` (probe only: the depths whose features one pass computes together, so that a
//! ladder of truncations of one model costs one forward pass; default `[4, 8, 16]` plus `layers`,
//! those deeper than the model left out; `[]`: only `layers`. A cache miss at depth `layers`
//! runs the blocks up to the deepest depth not cached yet and writes each depth's features).
//! `generative` (optional [`GenerativeSpec`]: next-token fine-tuning on the task's unlabeled
//! texts through `Backbone::adapt_to_texts`, before any training; see `generative`).
//! A probe reads only the GGUF header when built; the weights and the tokenizer are loaded on a
//! feature-cache miss (see `DecoderClassifier::lazy_probe`), so fully cached jobs skip them.
//! Also a language model for the `prompt` objective (see `w2s_models::heads::lm`). The wiring is
//! the decoder backbones' (`decoder`); the model is read from GGUF by `w2s_models`'
//! `load::gguf_decoder`, by the file's architecture (llama, qwen2, gemma3).
//!
//! `gemma3` is the same backbone whose default file is Gemma 3 270M (Gemma Team 2025; 18 layers,
//! d = 640, 262k vocabulary, Q4_K_M), fetched on demand by `scripts/fetch.sh gemma3`.

use std::path::{Path, PathBuf};

use tch::nn;
use w2s_core::{
    env::{verify_file, Expected},
    params::check,
    Backbone, Env, Params,
};
use w2s_models::{
    format::gguf::Gguf,
    generative::{self, GenerativeSpec},
    load::{self, gguf_decoder},
    options::Mode,
    trunk::Trunk,
};

use super::decoder::{decoder_backbone, decoder_params, Decoder, DecoderSettings, Opened};

/// The fetched GGUF file and its size.
pub const SMOLLM2_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
pub const SMOLLM2_SIZE: u64 = 98_362_432;

/// The file a GGUF decoder backbone reads when its `path` is empty: a fetched asset.
#[derive(Debug)]
pub struct DefaultGguf {
    /// The asset folder (`Env::asset_dir`), the file in it and its size.
    pub asset: &'static str,
    pub file: &'static str,
    pub size: u64,
}

/// `smollm2`'s default: SmolLM2-135M-Instruct, fetched by `scripts/bootstrap.sh`.
pub const SMOLLM2: DefaultGguf = DefaultGguf { asset: "smollm2", file: SMOLLM2_FILE, size: SMOLLM2_SIZE };
/// `gemma3`'s default: Gemma 3 270M (Q4_K_M), fetched on demand (`scripts/fetch.sh gemma3`).
pub const GEMMA3: DefaultGguf = DefaultGguf { asset: "gemma3", file: "gemma-3-270m-q4_k_m.gguf", size: 253_113_024 };

decoder_params! {
    pub struct SmolLm2Params {
        /// A GGUF decoder file (architecture llama, qwen2 or gemma3); empty: the backbone's
        /// fetched model (SmolLM2-135M-Instruct for `smollm2`, Gemma 3 270M for `gemma3`).
        path,
        /// Probe: depths whose features the same pass computes (absent: [`LADDER`]).
        pub share_depths: Option<Vec<usize>> = None,
        /// Generative fine-tuning on the task's unlabeled texts first (see `generative`; applied
        /// through `Backbone::adapt_to_texts`).
        pub generative: Option<GenerativeSpec> = None,
    }
}

/// The default `share_depths`: the truncations of the sentiment ladder.
pub const LADDER: [usize; 3] = [4, 8, 16];

impl Params for SmolLm2Params {
    fn validate(&self) -> anyhow::Result<()> {
        self.settings().validate(None)?;
        let shares = self.share_depths.as_deref().unwrap_or_default();
        check(shares.iter().all(|&d| d >= 1), "share_depths", "depths of at least 1")?;
        check(
            self.share_depths.is_none() || self.mode == Mode::Probe,
            "share_depths",
            "absent unless `mode` is `probe`",
        )?;
        self.generative.as_ref().map_or(Ok(()), |g| g.validate())
    }
}

#[derive(Clone)]
pub struct SmolLm2 {
    pub params: SmolLm2Params,
    /// Generatively fine-tuned weights that replace the file's (from `adapt_to_texts`).
    pub adapted: Option<PathBuf>,
    /// The file read when `path` is empty.
    pub default: &'static DefaultGguf,
}

impl SmolLm2 {
    /// `smollm2`.
    pub fn new(params: SmolLm2Params) -> anyhow::Result<Self> {
        Ok(SmolLm2 { params, adapted: None, default: &SMOLLM2 })
    }

    /// `gemma3`: the same backbone over Gemma 3 270M by default.
    pub fn gemma3(params: SmolLm2Params) -> anyhow::Result<Self> {
        Ok(SmolLm2 { params, adapted: None, default: &GEMMA3 })
    }

    /// The GGUF file, checked: the fetched asset (size-verified) or the user's file.
    pub fn file(&self, env: &Env) -> anyhow::Result<PathBuf> {
        if self.params.path.is_empty() {
            let d = self.default;
            let file = env.asset_dir(d.asset)?.join(d.file);
            verify_file(&file, Expected { size: d.size, sha256: None })?;
            Ok(file)
        } else {
            let file = PathBuf::from(&self.params.path);
            anyhow::ensure!(file.is_file(), "GGUF file {} does not exist", file.display());
            Ok(file)
        }
    }

    /// The cache key of the features of the first `depth` of `total` blocks of `file` (and of
    /// the adapted weights, if any).
    fn cache_key(&self, file: &Path, depth: usize, total: usize) -> String {
        let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
        let file = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
        let key = format!("gguf|{}|{size}|layers={:?}", file.display(), (depth != total).then_some(depth));
        match &self.adapted {
            Some(w) => format!("{key}|adapted={}", w.display()),
            None => key,
        }
    }
}

impl Decoder for SmolLm2 {
    type Checkpoint = Gguf;

    fn settings(&self) -> DecoderSettings<'_> {
        self.params.settings()
    }

    fn in_mode(&self, mode: Mode) -> Self {
        SmolLm2 {
            params: SmolLm2Params { mode, top_k: None, ..self.params.clone() },
            adapted: self.adapted.clone(),
            default: self.default,
        }
    }

    fn open(&self, env: &Env, header_only: bool) -> anyhow::Result<Gguf> {
        let file = self.file(env)?;
        if header_only {
            Gguf::open_header(&file)
        } else {
            Gguf::open(&file)
        }
    }

    fn shape(&self, g: &Gguf) -> anyhow::Result<(usize, i64)> {
        gguf_decoder::shape(g)
    }

    /// The first `layers` blocks of the model in `g` (all: `None`) in `vs`, with the adapted
    /// weights if any.
    fn trunk(&self, vs: &nn::VarStore, g: &Gguf, layers: Option<usize>) -> anyhow::Result<Box<dyn Trunk>> {
        let trunk = gguf_decoder::trunk(vs, g, layers)?;
        if let Some(w) = &self.adapted {
            generative::load(vs, w)?;
        }
        Ok(trunk)
    }

    fn parameters(&self, env: &Env) -> anyhow::Result<Option<u64>> {
        Ok(Some(gguf_decoder::parameters(&self.open(env, true)?, self.params.layers)?))
    }

    fn feature_key(&self, g: &Gguf, depth: usize, total: usize) -> String {
        self.cache_key(&g.path, depth, total)
    }

    fn share_depths(&self, g: &Gguf, total: usize) -> anyhow::Result<Vec<usize>> {
        Ok(match (&self.params.share_depths, self.params.mode) {
            // Adapted weights were trained at `layers` only.
            _ if self.adapted.is_some() => Vec::new(),
            (_, Mode::Full | Mode::Top) => Vec::new(),
            (None, Mode::Probe) => LADDER.into_iter().filter(|&d| d <= total).collect(),
            (Some(list), Mode::Probe) => {
                if let Some(d) = list.iter().find(|&&d| d > total) {
                    anyhow::bail!("share_depths has {d}, but {} has {total} blocks", g.path.display());
                }
                list.clone()
            }
        })
    }

    /// Generative fine-tuning on `texts` when `generative` is set: a `SmolLm2` on the new weights.
    fn adapt(&self, env: &Env, texts: &[&str]) -> anyhow::Result<Option<Box<dyn Backbone>>> {
        let Some(spec) = &self.params.generative else { return Ok(None) };
        let g = self.open(env, false)?;
        let (total, _) = self.shape(&g)?;
        let depth = load::depth(self.params.layers, total as i64, &g.path)? as usize;
        let key = self.cache_key(&g.path, depth, total);
        let build = |vs: &nn::VarStore| self.trunk(vs, &g, self.params.layers);
        let weights = generative::adapt(env, &key, &g.tokens()?, texts, spec, build)?;
        Ok(Some(Box::new(SmolLm2 { params: self.params.clone(), adapted: Some(weights), default: self.default })))
    }
}

decoder_backbone!(SmolLm2);

w2s_core::register!(Backbone {
    name: "smollm2",
    description:
        "pretrained SmolLM2-135M-Instruct (llama decoder, GGUF) or any GGUF decoder (llama, qwen2, gemma3), optionally cut to its first layers; \
                  last-token features; linear probe (default), top-k blocks or full fine-tuning; prompting language model",
    params: SmolLm2Params,
    build: SmolLm2::new,
});

w2s_core::register!(Backbone {
    name: "gemma3",
    description: "pretrained Gemma 3 270M (Q4_K_M GGUF, fetched on demand; Gemma terms of use) or any GGUF decoder, \
                  optionally cut to its first layers; the same modes and options as smollm2",
    params: SmolLm2Params,
    build: SmolLm2::gemma3,
});

#[cfg(test)]
mod tests;
