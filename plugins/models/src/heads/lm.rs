//! The causal language model behind a decoder backbone (`smollm2`, `gpt2`, `hf-decoder`), for
//! prompting baselines (`w2s_core::prompting`; the zero-shot prompting of Burns et al. 2023,
//! "Weak-to-Strong Generalization"): the trunk (cut to the backbone's `layers`, then
//! its final norm and its tied or own output layer), read at each prompt's last real token.
//!
//! Prompts are tokenized as the backbone's classifier tokenizes texts (the special tokens its
//! tokenizer puts before a text, e.g. a BOS, included), batched with right padding under the
//! attention mask. A prompt longer than the model's context keeps its *last* tokens (the query
//! end matters); how many were cut is logged.

use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{anyhow, ensure};
use tch::{nn, Device, Kind, Tensor};
use w2s_core::{backbone::pad_batch, prompting::LanguageModel, Env};

use crate::{layers::last_real, tokenize::Tokens, trunk::Trunk};

/// The context of models that do not state one.
const DEFAULT_CONTEXT: usize = 2048;

/// A frozen decoder and its tokenizer, as a [`LanguageModel`].
pub struct DecoderLm {
    _vs: nn::VarStore,
    trunk: Box<dyn Trunk>,
    tokens: Tokens,
    /// The ids the classifier's tokenization puts before a text (a BOS, or none).
    prefix: Vec<i64>,
    /// The most tokens of one prompt (prefix included).
    pub context: usize,
    device: Device,
    prompts: AtomicUsize,
    cut: AtomicUsize,
}

impl DecoderLm {
    /// The trunk that `build` creates (frozen, on `env.device`) with `tokens`.
    pub fn new(
        env: &Env,
        tokens: Tokens,
        build: impl FnOnce(&nn::VarStore) -> anyhow::Result<Box<dyn Trunk>>,
    ) -> anyhow::Result<Self> {
        let mut vs = nn::VarStore::new(env.device);
        let trunk = build(&vs)?;
        vs.freeze();
        tokens.check_vocab(trunk.vocab_size())?;
        const PROBE: &str = "probe text";
        let with = (tokens.encode)(&tokens.tok, &[PROBE], usize::MAX)?.remove(0);
        let plain = ids(&tokens, PROBE)?;
        let at = with.windows(plain.len().max(1)).position(|w| w == plain.as_slice()).unwrap_or(0);
        let context = trunk.context_length().map_or(DEFAULT_CONTEXT, |c| c as usize);
        ensure!(context > at, "the model's context ({context} tokens) is too short");
        Ok(DecoderLm {
            _vs: vs,
            trunk,
            prefix: with[..at].to_vec(),
            tokens,
            context,
            device: env.device,
            prompts: AtomicUsize::new(0),
            cut: AtomicUsize::new(0),
        })
    }

    /// The token ids of a prompt: the prefix, then its last tokens that fit the context.
    fn prompt_ids(&self, prompt: &str) -> anyhow::Result<(Vec<i64>, bool)> {
        let body = ids(&self.tokens, prompt)?;
        let keep = self.context - self.prefix.len();
        let cut = body.len() > keep;
        let body = &body[body.len().saturating_sub(keep)..];
        Ok(([self.prefix.as_slice(), body].concat(), cut))
    }
}

/// Token ids of `text`, no special tokens added.
fn ids(tokens: &Tokens, text: &str) -> anyhow::Result<Vec<i64>> {
    let enc = tokens.tok.encode(text, false).map_err(|e| anyhow!("tokenizing: {e}"))?;
    Ok(enc.get_ids().iter().map(|&i| i as i64).collect())
}

impl LanguageModel for DecoderLm {
    fn tokenize(&self, text: &str) -> anyhow::Result<Vec<i64>> {
        ids(&self.tokens, text)
    }

    fn next_token_logprobs(&self, prompts: &[String], candidates: &[i64]) -> anyhow::Result<Vec<Vec<f32>>> {
        let vocab = self.trunk.vocab_size();
        if let Some(bad) = candidates.iter().find(|&&c| c < 0 || c >= vocab) {
            anyhow::bail!("candidate token {bad} is outside the model's vocabulary of {vocab}");
        }
        if prompts.is_empty() {
            return Ok(Vec::new());
        }
        let mut rows = Vec::with_capacity(prompts.len());
        let mut cut = 0;
        for p in prompts {
            let (ids, was_cut) = self.prompt_ids(p)?;
            cut += was_cut as usize;
            rows.push(ids);
        }
        self.prompts.fetch_add(prompts.len(), Ordering::Relaxed);
        if cut > 0 {
            let total = self.cut.fetch_add(cut, Ordering::Relaxed) + cut;
            tracing::warn!(
                "{cut} of {} prompts are longer than the context of {} tokens: kept their last tokens ({total} so far)",
                prompts.len(),
                self.context
            );
        }
        let _guard = tch::no_grad_guard();
        let all: Vec<usize> = (0..rows.len()).collect();
        let (ids, mask) = pad_batch(&rows, &all, self.tokens.pad_id, self.device);
        let last = last_real(&self.trunk.hidden_states(&ids, Some(&mask)), Some(&mask));
        let logprobs = self.trunk.lm_logits(&last).log_softmax(-1, Kind::Float);
        let picked = logprobs.index_select(1, &Tensor::from_slice(candidates).to_device(self.device));
        let flat = Vec::<f32>::try_from(picked.to_device(Device::Cpu).flatten(0, -1))?;
        Ok(flat.chunks(candidates.len().max(1)).map(|c| c.to_vec()).take(prompts.len()).collect())
    }
}

impl Drop for DecoderLm {
    fn drop(&mut self) {
        let cut = self.cut.load(Ordering::Relaxed);
        if cut > 0 {
            tracing::info!(
                "prompting: {cut} of {} prompts were longer than the context of {} tokens and kept their last tokens",
                self.prompts.load(Ordering::Relaxed),
                self.context
            );
        }
    }
}
