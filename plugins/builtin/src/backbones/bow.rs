//! `bow`: bag-of-embeddings classifier trained from scratch: mean of token embeddings, an
//! optional hidden ReLU layer, and the zero-initialised head (OpenAI's `weak-to-strong` code). The
//! weakest family.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tch::{nn, nn::Module, Tensor};
use tokenizers::Tokenizer;
use w2s_core::{backbone::masked_mean, backbone::pad_batch, Backbone, Env, Inputs, Model, Params};

use w2s_models::{layers::zero_head, tokenize::hf};

use super::Size;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BowParams {
    /// tiny (d 8, no hidden layer), small (d 32, hidden 32), base (d 128, hidden 128).
    pub size: Size,
}
impl Params for BowParams {}

pub struct Bow {
    pub params: BowParams,
}

impl Bow {
    pub fn new(params: BowParams) -> anyhow::Result<Self> {
        Ok(Bow { params })
    }
}

pub struct BowModel {
    vs: nn::VarStore,
    embed: nn::Embedding,
    hidden: Option<nn::Linear>,
    head: nn::Linear,
    tok: Arc<Tokenizer>,
}

impl Backbone for Bow {
    fn build(&self, env: &Env, n_classes: usize) -> anyhow::Result<Box<dyn Model>> {
        let tok = hf::load(&env.asset_dir("minilm")?.join("tokenizer.json"))?;
        let vocab = tok.get_vocab_size(true) as i64;
        let (d, h) = match self.params.size {
            Size::Tiny => (8, 0),
            Size::Small => (32, 32),
            Size::Base => (128, 128),
        };
        let vs = nn::VarStore::new(env.device);
        let embed = nn::embedding(vs.root() / "embed", vocab, d, Default::default());
        let hidden = (h > 0).then(|| nn::linear(vs.root() / "hidden", d, h, Default::default()));
        let head = zero_head(vs.root() / "head", if h > 0 { h } else { d }, n_classes);
        Ok(Box::new(BowModel { vs, embed, hidden, head, tok }))
    }

    /// Not the model's (trained) embeddings: a fixed bag of words for probes outside training,
    /// cheap and needing no asset. See [`hashed_word_counts`].
    fn features(&self, _env: &Env, texts: &[&str]) -> anyhow::Result<Option<Tensor>> {
        let rows: Vec<f32> = texts.iter().flat_map(|t| hashed_word_counts(t)).collect();
        Ok(Some(Tensor::f_from_slice(&rows)?.f_view([texts.len() as i64, HASHED_DIM as i64])?))
    }
}

/// The width of [`hashed_word_counts`].
pub const HASHED_DIM: usize = 256;

/// The counts of the lowercased alphanumeric words of `text` hashed (FNV-1a) into
/// [`HASHED_DIM`] buckets, scaled to unit length (all zeros for a text without words).
pub fn hashed_word_counts(text: &str) -> Vec<f32> {
    let mut v = vec![0f32; HASHED_DIM];
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in word.to_lowercase().bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        v[(h % HASHED_DIM as u64) as usize] += 1.0;
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

impl Model for BowModel {
    fn encode(&mut self, texts: &[&str], _env: &Env) -> anyhow::Result<Inputs> {
        Ok(Inputs::Tokens(hf::encode(&self.tok, texts, 256)?))
    }

    fn logits(&self, inputs: &Inputs, rows: &[usize], _train: bool) -> anyhow::Result<Tensor> {
        let Inputs::Tokens(tokens) = inputs else { anyhow::bail!("bow takes token inputs") };
        let (ids, mask) = pad_batch(tokens, rows, 0, self.vs.device());
        let mut x = masked_mean(&self.embed.forward(&ids), &mask);
        if let Some(h) = &self.hidden {
            x = h.forward(&x).relu();
        }
        Ok(self.head.forward(&x))
    }

    fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }
}

w2s_core::register!(Backbone {
    name: "bow",
    description: "bag-of-embeddings MLP trained from scratch (sizes tiny/small/base)",
    params: BowParams,
    build: Bow::new,
});
