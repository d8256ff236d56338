//! A text classifier over a llama-type decoder: the final hidden state of each text's last real
//! token (the one that has seen the whole text) and a zero-initialised bias-free head. Trained
//! fully, or as a linear probe on frozen features (cached, see `feature_cache`).

use std::sync::Arc;

use tch::{nn, Tensor};
use tokenizers::Tokenizer;
use w2s_core::{backbone::pad_batch, Env};

use super::{
    classifier::Mode,
    feature_cache::{self, Pooler},
    gguf::Gguf,
    gguf_tokenizer,
    llama::{last_real, Llama},
    zero_head,
};

/// A decoder + head classifier.
pub struct DecoderClassifier {
    trainable: nn::VarStore,
    _frozen: Option<nn::VarStore>,
    trunk: Llama,
    head: nn::Linear,
    tok: Arc<Tokenizer>,
    pad_id: i64,
    pub max_len: usize,
    pub mode: Mode,
    /// Identifies the decoder's weights and depth for the feature cache (`None`: do not cache).
    pub cache_key: Option<String>,
}

impl DecoderClassifier {
    /// The first `layers` blocks (all: `None`) of the model in `g`, its tokenizer, and a head for
    /// `n_classes`.
    pub fn new(
        env: &Env,
        g: &Gguf,
        layers: Option<usize>,
        n_classes: usize,
        mode: Mode,
        max_len: usize,
    ) -> anyhow::Result<Self> {
        let tok = Arc::new(gguf_tokenizer::load(g)?);
        let pad_id = g.get_u64("tokenizer.ggml.padding_token_id").unwrap_or(0) as i64;
        let trainable = nn::VarStore::new(env.device);
        let (frozen, trunk) = match mode {
            Mode::Full => (None, Llama::from_gguf(&trainable, g, layers)?),
            Mode::Probe => {
                let mut frozen = nn::VarStore::new(env.device);
                let trunk = Llama::from_gguf(&frozen, g, layers)?;
                frozen.freeze();
                (Some(frozen), trunk)
            }
        };
        let head = zero_head(trainable.root() / "head", trunk.config.hidden_size, n_classes);
        Ok(DecoderClassifier { trainable, _frozen: frozen, trunk, head, tok, pad_id, max_len, mode, cache_key: None })
    }
}

impl Pooler for DecoderClassifier {
    fn tokenize(&self, texts: &[&str]) -> anyhow::Result<Vec<Vec<i64>>> {
        gguf_tokenizer::encode(&self.tok, texts, self.max_len)
    }

    /// The last real token's final hidden state.
    fn pooled(&self, tokens: &[Vec<i64>], rows: &[usize]) -> Tensor {
        let (ids, mask) = pad_batch(tokens, rows, self.pad_id, self.trainable.device());
        last_real(&self.trunk.forward(&ids, Some(&mask)), Some(&mask))
    }

    fn dim(&self) -> i64 {
        self.trunk.config.hidden_size
    }

    fn probe_settings(&self) -> Option<String> {
        (self.mode == Mode::Probe).then(|| format!("{}|last", self.max_len))
    }

    fn cache_key(&self) -> Option<&str> {
        self.cache_key.as_deref()
    }
}

feature_cache::pooled_head_model!(DecoderClassifier);
