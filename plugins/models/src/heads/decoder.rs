//! A text classifier over a decoder trunk (llama-type from GGUF or HF, GPT-2, ...): the final
//! hidden state of each text's last real token (the one that has seen the whole text) and a
//! zero-initialised bias-free head, as the linear probes and fine-tuning of Burns et al. 2023
//! ("Weak-to-Strong Generalization"). Three modes (`options::Mode`):
//! - `full`: every parameter trains (inputs are tokens);
//! - `probe`: a linear probe on frozen features (cached, see `feature_cache`); the same pass can
//!   also write the features of other depths of the same checkpoint (`share`), so that a ladder
//!   of truncations of one model costs one forward pass;
//! - `top`: only the top `top_k` blocks, the final norm and the head train; the frozen bottom's
//!   hidden states (after block `depth − top_k`, `[n, t, d]` per set of texts, padded, with a
//!   last channel holding the 0/1 mask) are computed once and cached on disk like features.
//!
//! A probe can be built lazily ([`DecoderClassifier::lazy_probe`]): its tokenizer and frozen trunk
//! are loaded on first use, i.e. only on a feature-cache miss (or to tokenize, e.g. for
//! `too_long = drop`), so that a probe whose features are all cached never reads the weights.

use std::cell::OnceCell;

use anyhow::{ensure, Context};
use tch::{nn, nn::Module, Kind, Tensor};
use w2s_core::{backbone::pad_batch, Env, Inputs, Model};

use crate::{
    feature_bank,
    feature_cache::{self, Pooler},
    layers::{last_real, zero_head},
    options::{Mode, Precision, TooLong},
    tokenize::Tokens,
    trunk::{share_top, Trunk},
};

/// The tokenizer and trunk of a decoder classifier (and the frozen store of a probe's or `top`
/// mode's trunk).
struct Parts {
    frozen: Option<nn::VarStore>,
    trunk: Box<dyn Trunk>,
    tokens: Tokens,
}

/// Loads the tokenizer and the trunk of a lazy probe, the trunk in the store it is given.
pub type Loader = Box<dyn Fn(&nn::VarStore) -> anyhow::Result<(Tokens, Box<dyn Trunk>)>>;

/// A decoder + head classifier.
pub struct DecoderClassifier {
    trainable: nn::VarStore,
    /// Built in the constructor, or by `loader` on first use.
    parts: OnceCell<Parts>,
    loader: Option<Loader>,
    /// The number of blocks and the width of the trunk (known before a lazy trunk is loaded).
    built: usize,
    hidden: i64,
    head: nn::Linear,
    pub max_len: usize,
    pub mode: Mode,
    /// The blocks that make the features (a probe's trunk may hold more, for `share`).
    depth: usize,
    /// `top` mode: the number of trained blocks.
    top_k: usize,
    /// Other depths whose probe features the same pass writes, with their cache keys.
    share: Vec<(usize, String)>,
    /// Identifies the decoder's weights and depth for the feature cache (`None`: do not cache).
    pub cache_key: Option<String>,
    /// Of the frozen trunk (probe mode).
    precision: Precision,
    /// Texts longer than `max_len`: truncated, or dropped from training.
    pub too_long: TooLong,
}

impl DecoderClassifier {
    /// A classifier over the trunk that `build` creates in the store it is given (the trainable
    /// one, or a frozen one for a probe or the bottom of `top` mode), checked to cover the
    /// tokenizer's ids. `top_k`: the trained blocks of `top` mode.
    pub fn with_trunk(
        env: &Env,
        tokens: Tokens,
        n_classes: usize,
        (mode, top_k): (Mode, Option<usize>),
        max_len: usize,
        build: impl FnOnce(&nn::VarStore) -> anyhow::Result<Box<dyn Trunk>>,
    ) -> anyhow::Result<Self> {
        let trainable = nn::VarStore::new(env.device);
        let (frozen, trunk) = match mode {
            Mode::Full => (None, build(&trainable)?),
            Mode::Probe | Mode::Top => {
                let mut frozen = nn::VarStore::new(env.device);
                let trunk = build(&frozen)?;
                frozen.freeze();
                (Some(frozen), trunk)
            }
        };
        tokens.check_vocab(trunk.vocab_size())?;
        let (depth, hidden) = (trunk.depth(), trunk.hidden_size());
        let top_k = match mode {
            Mode::Top => {
                let k = top_k.context("mode `top` needs `top_k`, the number of blocks to train")?;
                share_top(frozen.as_ref().expect("top mode has a frozen store"), trunk.as_ref(), k, &trainable)?;
                k
            }
            _ => 0,
        };
        let head = zero_head(trainable.root() / "head", hidden, n_classes);
        Ok(DecoderClassifier {
            trainable,
            parts: OnceCell::from(Parts { frozen, trunk, tokens }),
            loader: None,
            built: depth,
            hidden,
            head,
            max_len,
            mode,
            depth,
            top_k,
            share: Vec::new(),
            cache_key: None,
            precision: Precision::F32,
            too_long: TooLong::Truncate,
        })
    }

    /// A linear probe whose tokenizer and frozen trunk (`built` blocks of width `hidden`) `load`
    /// makes on first use: on a feature-cache miss, or when texts must be tokenized. The loaded
    /// trunk is checked against `built` and `hidden` and to cover the tokenizer's ids.
    pub fn lazy_probe(
        env: &Env,
        n_classes: usize,
        max_len: usize,
        (built, hidden): (usize, i64),
        load: Loader,
    ) -> anyhow::Result<Self> {
        ensure!(built >= 1 && hidden >= 1, "a trunk of {built} blocks of width {hidden}");
        let trainable = nn::VarStore::new(env.device);
        let head = zero_head(trainable.root() / "head", hidden, n_classes);
        Ok(DecoderClassifier {
            trainable,
            parts: OnceCell::new(),
            loader: Some(load),
            built,
            hidden,
            head,
            max_len,
            mode: Mode::Probe,
            depth: built,
            top_k: 0,
            share: Vec::new(),
            cache_key: None,
            precision: Precision::F32,
            too_long: TooLong::Truncate,
        })
    }

    /// The tokenizer and trunk, loaded now if this is a lazy probe that has not loaded them yet.
    fn parts(&self) -> anyhow::Result<&Parts> {
        if let Some(parts) = self.parts.get() {
            return Ok(parts);
        }
        let load = self.loader.as_ref().context("a decoder classifier without a trunk or a loader")?;
        let mut frozen = nn::VarStore::new(self.trainable.device());
        let (tokens, trunk) = load(&frozen)?;
        frozen.freeze();
        if self.precision == Precision::Bf16 {
            frozen.bfloat16();
        }
        ensure!(
            trunk.depth() == self.built && trunk.hidden_size() == self.hidden,
            "the loaded trunk has {} blocks of width {}, expected {} of width {}",
            trunk.depth(),
            trunk.hidden_size(),
            self.built,
            self.hidden
        );
        tokens.check_vocab(trunk.vocab_size())?;
        let _ = self.parts.set(Parts { frozen: Some(frozen), trunk, tokens });
        self.parts.get().context("the trunk was just loaded")
    }

    fn trunk(&self) -> anyhow::Result<&dyn Trunk> {
        Ok(self.parts()?.trunk.as_ref())
    }

    /// Probe features come from the first `depth` blocks of the trunk, and the pass that computes
    /// them on a cache miss also writes the features of `share` (depths, each at most the trunk's,
    /// with their cache keys) that are not cached yet.
    pub fn share_depths(&mut self, depth: usize, share: Vec<(usize, String)>) -> anyhow::Result<()> {
        let built = self.built;
        for &d in share.iter().map(|(d, _)| d).chain([&depth]) {
            ensure!(d >= 1 && d <= built, "depth {d} is beyond the {built} blocks built");
        }
        ensure!(
            self.mode == Mode::Probe || depth == built,
            "only a probe's features can come from fewer blocks than built"
        );
        self.depth = depth;
        self.share = share.into_iter().filter(|(d, _)| *d != depth).collect();
        Ok(())
    }

    /// Run the frozen trunk of a probe in `precision` (its features stay f32).
    pub fn set_precision(&mut self, precision: Precision) -> anyhow::Result<()> {
        if precision == Precision::Bf16 {
            ensure!(self.mode == Mode::Probe, "precision bf16 is for the frozen trunk of mode `probe`");
            // A lazy probe's trunk is converted when it is loaded.
            if let Some(parts) = self.parts.get_mut() {
                parts.frozen.as_mut().context("a probe has a frozen store")?.bfloat16();
            }
        }
        self.precision = precision;
        Ok(())
    }

    /// Token ids cut to `max_len` (the first tokens: decoders read left to right); how many texts
    /// were cut is logged.
    fn tokenize(&self, texts: &[&str]) -> anyhow::Result<Vec<Vec<i64>>> {
        let tokens = &self.parts()?.tokens;
        let mut ids = (tokens.encode)(&tokens.tok, texts, self.max_len.saturating_add(1))?;
        let cut = cut_to(&mut ids, self.max_len);
        if cut > 0 {
            tracing::info!(
                "{cut} of {} texts are longer than max_len = {} tokens and were cut to their first {} tokens",
                texts.len(),
                self.max_len,
                self.max_len
            );
        }
        Ok(ids)
    }

    fn pad(&self, tokens: &[Vec<i64>], rows: &[usize]) -> anyhow::Result<(Tensor, Tensor)> {
        Ok(pad_batch(tokens, rows, self.parts()?.tokens.pad_id, self.trainable.device()))
    }

    /// Probe features `[n, d]`, cached per text (`feature_bank`); the texts computed have the
    /// shared depths' features written by the same pass, where those banks lack them.
    fn probe_features(&self, texts: &[&str], env: &Env) -> anyhow::Result<Tensor> {
        let settings = self.probe_settings().context("probe features of a classifier not in mode `probe`")?;
        let d = self.dim();
        feature_bank::cached_rows(self.cache_key.as_deref(), &settings, texts, &[d], env, |sub| {
            let mut extra = Vec::new();
            for (depth, key) in &self.share {
                if !feature_bank::missing(key, &settings, sub, env)?.is_empty() {
                    extra.push((*depth, key));
                }
            }
            if extra.is_empty() || self.cache_key.is_none() {
                return feature_cache::features(self, sub, env);
            }
            let depths: Vec<usize> = std::iter::once(self.depth).chain(extra.iter().map(|(d, _)| *d)).collect();
            let tokens = self.tokenize(sub)?;
            let all = feature_cache::batched(&tokens, &[d * depths.len() as i64], env, |rows| {
                let (ids, mask) = self.pad(&tokens, rows)?;
                let hidden = self.trunk()?.hidden_at(&ids, Some(&mask), &depths);
                let pooled: Vec<Tensor> = hidden.iter().map(|h| last_real(h, Some(&mask))).collect();
                Ok(Tensor::f_cat(&pooled, 1)?.f_to_kind(Kind::Float)?)
            })?;
            for (i, (depth, key)) in extra.iter().enumerate() {
                feature_bank::store_rows(key, &settings, sub, &all.narrow(1, (i as i64 + 1) * d, d).contiguous(), env)?;
                tracing::info!("probe features of depth {depth} written by the depth-{} pass", self.depth);
            }
            Ok(all.narrow(1, 0, d).contiguous())
        })
    }

    /// `top` mode's inputs: the frozen bottom's hidden states `[n, t, d + 1]` (last channel: the
    /// 0/1 mask), cached.
    fn bottom_states(&self, texts: &[&str], env: &Env) -> anyhow::Result<Tensor> {
        let split = self.depth - self.top_k;
        let d = self.dim();
        let settings = format!("{}|bottom={split}", self.max_len);
        let shape = [texts.len() as i64, -1, d + 1];
        feature_cache::cached(self.cache_key.as_deref(), &settings, texts, &shape, env, || {
            let tokens = self.tokenize(texts)?;
            let width = tokens.iter().map(|t| t.len()).max().unwrap_or(1).max(1) as i64;
            feature_cache::batched(&tokens, &[width, d + 1], env, |rows| {
                let (ids, mask) = self.pad(&tokens, rows)?;
                let trunk = self.trunk()?;
                let h = trunk.blocks(trunk.embed(&ids), Some(&mask), 0..split);
                let t = h.size()[1];
                let h = Tensor::f_cat(&[h, mask.f_to_kind(Kind::Float)?.f_unsqueeze(-1)?], -1)?;
                Ok(h.f_constant_pad_nd([0, 0, 0, width - t])?)
            })
        })
    }

    /// The pooled vectors of rows of `top` mode's inputs: the top blocks and the final norm on the
    /// cached bottom states, at each row's last real token.
    fn top_pooled(&self, states: &Tensor, rows: &[usize]) -> anyhow::Result<Tensor> {
        let d = self.dim();
        let trunk = self.trunk()?;
        let f = states.f_index_select(0, &feature_cache::row_index(rows))?.f_to_device(self.trainable.device())?;
        let t = f.f_select(2, d)?.f_sum_dim_intlist(1, false, Kind::Float)?.f_max()?.f_int64_value(&[])?.max(1);
        let f = f.f_narrow(1, 0, t)?;
        let mask = f.f_select(2, d)?.f_to_kind(Kind::Int64)?;
        let h = trunk.blocks(f.f_narrow(2, 0, d)?, Some(&mask), self.depth - self.top_k..self.depth);
        Ok(last_real(&trunk.final_norm(&h), Some(&mask)))
    }
}

/// Cut every token list to `max_len`; the number of lists that were longer.
pub fn cut_to(ids: &mut [Vec<i64>], max_len: usize) -> usize {
    let mut cut = 0;
    for t in ids.iter_mut().filter(|t| t.len() > max_len) {
        t.truncate(max_len);
        cut += 1;
    }
    cut
}

impl Pooler for DecoderClassifier {
    fn tokenize(&self, texts: &[&str]) -> anyhow::Result<Vec<Vec<i64>>> {
        DecoderClassifier::tokenize(self, texts)
    }

    /// The last real token's final hidden state after `depth` blocks.
    fn pooled(&self, tokens: &[Vec<i64>], rows: &[usize]) -> anyhow::Result<Tensor> {
        let (ids, mask) = self.pad(tokens, rows)?;
        let hidden = self.trunk()?.hidden_at(&ids, Some(&mask), &[self.depth]);
        Ok(last_real(&hidden[0], Some(&mask)).f_to_kind(Kind::Float)?)
    }

    fn dim(&self) -> i64 {
        self.hidden
    }

    fn probe_settings(&self) -> Option<String> {
        let precision = if self.precision == Precision::Bf16 { "|bf16" } else { "" };
        (self.mode == Mode::Probe).then(|| format!("{}|last{precision}", self.max_len))
    }

    fn cache_key(&self) -> Option<&str> {
        self.cache_key.as_deref()
    }
}

impl Model for DecoderClassifier {
    fn encode(&mut self, texts: &[&str], env: &Env) -> anyhow::Result<Inputs> {
        Ok(match self.mode {
            Mode::Full => Inputs::Tokens(self.tokenize(texts)?),
            Mode::Probe => Inputs::Features(self.probe_features(texts, env)?),
            Mode::Top => Inputs::Features(self.bottom_states(texts, env)?),
        })
    }

    fn logits(&self, inputs: &Inputs, rows: &[usize], _train: bool) -> anyhow::Result<Tensor> {
        let pooled = match (self.mode, inputs) {
            (Mode::Top, Inputs::Features(states)) => self.top_pooled(states, rows)?,
            _ => feature_cache::pooled(self, inputs, rows, self.trainable.device())?,
        };
        Ok(self.head.forward(&pooled))
    }

    fn var_store(&self) -> &nn::VarStore {
        &self.trainable
    }

    fn over_length(&self, texts: &[&str]) -> anyhow::Result<Vec<bool>> {
        if self.too_long == TooLong::Truncate {
            return Ok(vec![false; texts.len()]);
        }
        let tokens = &self.parts()?.tokens;
        let ids = (tokens.encode)(&tokens.tok, texts, self.max_len.saturating_add(1))?;
        Ok(ids.iter().map(|t| t.len() > self.max_len).collect())
    }
}

#[cfg(test)]
mod cut_tests {
    #[test]
    fn over_long_token_lists_are_cut_and_counted() {
        let mut ids = vec![vec![1, 2, 3], vec![4], vec![5, 6, 7, 8]];
        assert_eq!(super::cut_to(&mut ids, 2), 2);
        assert_eq!(ids, vec![vec![1, 2], vec![4], vec![5, 6]]);
    }
}
