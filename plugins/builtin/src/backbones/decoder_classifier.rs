//! A text classifier over a decoder trunk (llama-type from GGUF or HF, GPT-2, ...): the final
//! hidden state of each text's last real token (the one that has seen the whole text) and a
//! zero-initialised bias-free head. Trained fully, or as a linear probe on frozen features
//! (cached, see `feature_cache`).

use std::sync::Arc;

use anyhow::ensure;
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

/// A decoder that maps right-padded token ids to final hidden states.
pub trait Trunk {
    /// Final (normed) hidden states `[b, t, d]` of ids `[b, t]`; `mask` `[b, t]` (1: real token)
    /// for right-padded batches, `None` when every position is real.
    fn hidden_states(&self, ids: &Tensor, mask: Option<&Tensor>) -> Tensor;
    fn hidden_size(&self) -> i64;
    /// Rows of the embedding matrix: every token id must be below it.
    fn vocab_size(&self) -> i64;
}

impl Trunk for Llama {
    fn hidden_states(&self, ids: &Tensor, mask: Option<&Tensor>) -> Tensor {
        self.forward(ids, mask)
    }

    fn hidden_size(&self) -> i64 {
        self.config.hidden_size
    }

    fn vocab_size(&self) -> i64 {
        self.config.vocab_size
    }
}

/// Token ids of texts, cut to a maximum length.
pub type Encode = fn(&Tokenizer, &[&str], usize) -> anyhow::Result<Vec<Vec<i64>>>;

/// How a decoder classifier tokenizes.
pub struct Tokens {
    pub tok: Arc<Tokenizer>,
    pub encode: Encode,
    /// The id of padding positions (masked out: any id in the vocabulary).
    pub pad_id: i64,
}

/// A decoder + head classifier.
pub struct DecoderClassifier {
    trainable: nn::VarStore,
    _frozen: Option<nn::VarStore>,
    trunk: Box<dyn Trunk>,
    head: nn::Linear,
    tokens: Tokens,
    pub max_len: usize,
    pub mode: Mode,
    /// Identifies the decoder's weights and depth for the feature cache (`None`: do not cache).
    pub cache_key: Option<String>,
}

impl DecoderClassifier {
    /// The first `layers` blocks (all: `None`) of the llama-type model in `g`, its tokenizer, and
    /// a head for `n_classes`.
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
        let tokens = Tokens { tok, encode: gguf_tokenizer::encode, pad_id };
        Self::with_trunk(env, tokens, n_classes, mode, max_len, |vs| Ok(Box::new(Llama::from_gguf(vs, g, layers)?)))
    }

    /// A classifier over the trunk that `build` creates in the store it is given (the trainable
    /// one, or a frozen one for a probe), checked to cover the tokenizer's ids.
    pub fn with_trunk(
        env: &Env,
        tokens: Tokens,
        n_classes: usize,
        mode: Mode,
        max_len: usize,
        build: impl FnOnce(&nn::VarStore) -> anyhow::Result<Box<dyn Trunk>>,
    ) -> anyhow::Result<Self> {
        let trainable = nn::VarStore::new(env.device);
        let (frozen, trunk) = match mode {
            Mode::Full => (None, build(&trainable)?),
            Mode::Probe => {
                let mut frozen = nn::VarStore::new(env.device);
                let trunk = build(&frozen)?;
                frozen.freeze();
                (Some(frozen), trunk)
            }
        };
        let vocab = tokens.tok.get_vocab(true).values().max().map_or(0, |&m| m as i64 + 1);
        ensure!(
            vocab <= trunk.vocab_size(),
            "the tokenizer has {vocab} token ids but the model's vocab_size is {}: the tokenizer does not belong to this model",
            trunk.vocab_size()
        );
        let head = zero_head(trainable.root() / "head", trunk.hidden_size(), n_classes);
        Ok(DecoderClassifier { trainable, _frozen: frozen, trunk, head, tokens, max_len, mode, cache_key: None })
    }
}

impl Pooler for DecoderClassifier {
    fn tokenize(&self, texts: &[&str]) -> anyhow::Result<Vec<Vec<i64>>> {
        (self.tokens.encode)(&self.tokens.tok, texts, self.max_len)
    }

    /// The last real token's final hidden state.
    fn pooled(&self, tokens: &[Vec<i64>], rows: &[usize]) -> Tensor {
        let (ids, mask) = pad_batch(tokens, rows, self.tokens.pad_id, self.trainable.device());
        last_real(&self.trunk.hidden_states(&ids, Some(&mask)), Some(&mask))
    }

    fn dim(&self) -> i64 {
        self.trunk.hidden_size()
    }

    fn probe_settings(&self) -> Option<String> {
        (self.mode == Mode::Probe).then(|| format!("{}|last", self.max_len))
    }

    fn cache_key(&self) -> Option<&str> {
        self.cache_key.as_deref()
    }
}

feature_cache::pooled_head_model!(DecoderClassifier);
