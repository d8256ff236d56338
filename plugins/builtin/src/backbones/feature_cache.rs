//! Frozen-trunk features for linear probes: computed once (no gradient, batches of similar
//! length) and cached on disk, keyed by the trunk, its settings and the texts; and the
//! `Model::encode` / pooled input of a trunk + head classifier built on them.

use anyhow::Context;
use sha2::{Digest, Sha256};
use tch::{Device, Kind, Tensor};
use w2s_core::{progress, Env, Inputs};

/// A trunk that pools tokenized texts into one vector each.
pub trait Pooler {
    /// Token ids of texts.
    fn tokenize(&self, texts: &[&str]) -> anyhow::Result<Vec<Vec<i64>>>;
    /// Pooled trunk output `[rows, dim]` for rows of tokenized texts.
    fn pooled(&self, tokens: &[Vec<i64>], rows: &[usize]) -> Tensor;
    fn dim(&self) -> i64;
    /// `None` when the trunk trains (inputs are tokens); for a frozen trunk (a probe), the
    /// settings that change its features, for the cache.
    fn probe_settings(&self) -> Option<String>;
    /// Identifies the trunk's weights for the cache (`None`: do not cache).
    fn cache_key(&self) -> Option<&str>;
}

/// Pooled features `[n, dim]` of every text (no gradient), in batches, on the CPU.
pub fn features(p: &impl Pooler, texts: &[&str], env: &Env) -> anyhow::Result<Tensor> {
    let tokens = p.tokenize(texts)?;
    Ok(batched(&tokens, p.dim(), env, |rows| p.pooled(&tokens, rows)))
}

/// `Model::encode`: tokens for a training trunk, (cached) features for a frozen one.
pub fn encode(p: &impl Pooler, texts: &[&str], env: &Env) -> anyhow::Result<Inputs> {
    let Some(settings) = p.probe_settings() else { return Ok(Inputs::Tokens(p.tokenize(texts)?)) };
    Ok(Inputs::Features(cached(p.cache_key(), &settings, texts, env, || features(p, texts, env))?))
}

/// The pooled vectors `[rows, dim]` on `device` of rows of `inputs` from [`encode`].
pub fn pooled(p: &impl Pooler, inputs: &Inputs, rows: &[usize], device: Device) -> Tensor {
    match inputs {
        Inputs::Tokens(t) => p.pooled(t, rows),
        Inputs::Features(f) => f.index_select(0, &row_index(rows)).to_device(device),
    }
}

/// Features `[n, dim]` on the CPU of every tokenized text, from `pooled` (rows → `[rows, dim]`)
/// run on batches of rows sorted by length.
pub fn batched(tokens: &[Vec<i64>], dim: i64, env: &Env, pooled: impl Fn(&[usize]) -> Tensor) -> Tensor {
    let _guard = tch::no_grad_guard();
    let mut order: Vec<usize> = (0..tokens.len()).collect();
    order.sort_by_key(|&i| tokens[i].len());
    let bar = progress::bar(env, tokens.len() as u64, "encoding features");
    let mut out = Tensor::zeros([tokens.len() as i64, dim], (Kind::Float, Device::Cpu));
    for rows in order.chunks(64) {
        let f = pooled(rows).to_device(Device::Cpu);
        out = out.index_copy(0, &row_index(rows), &f);
        bar.inc(rows.len() as u64);
    }
    bar.finish_and_clear();
    out
}

/// The features of `texts`: read from the cache file of (`key`, `settings`, texts), or computed
/// by `compute` and written there. No `key`: computed, not cached.
pub fn cached(
    key: Option<&str>,
    settings: &str,
    texts: &[&str],
    env: &Env,
    compute: impl FnOnce() -> anyhow::Result<Tensor>,
) -> anyhow::Result<Tensor> {
    let Some(key) = key else { return compute() };
    let mut h = Sha256::new();
    h.update(format!("{key}|{settings}|"));
    for t in texts {
        h.update(t.as_bytes());
        h.update([0u8]);
    }
    let name: String = h.finalize().iter().take(12).map(|b| format!("{b:02x}")).collect();
    let path = env.derived_dir("features")?.join(format!("{name}.pt"));
    if path.exists() {
        if let Ok(t) = Tensor::load(&path) {
            if t.size()[0] == texts.len() as i64 {
                return Ok(t);
            }
        }
        tracing::warn!("feature cache {} is unreadable; recomputing", path.display());
    }
    let feats = compute()?;
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    feats.save(&tmp).with_context(|| format!("writing feature cache {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    Ok(feats)
}

/// `impl Model` for a [`Pooler`] type with fields `trainable` (the store that trains) and
/// `head` (an `nn::Linear` on the pooled vectors).
macro_rules! pooled_head_model {
    ($t:ty) => {
        impl w2s_core::Model for $t {
            fn encode(&mut self, texts: &[&str], env: &w2s_core::Env) -> anyhow::Result<w2s_core::Inputs> {
                $crate::backbones::feature_cache::encode(self, texts, env)
            }

            fn logits(&self, inputs: &w2s_core::Inputs, rows: &[usize], _train: bool) -> anyhow::Result<tch::Tensor> {
                let pooled = $crate::backbones::feature_cache::pooled(self, inputs, rows, self.trainable.device());
                Ok(tch::nn::Module::forward(&self.head, &pooled))
            }

            fn var_store(&self) -> &tch::nn::VarStore {
                &self.trainable
            }
        }
    };
}
pub(crate) use pooled_head_model;

fn row_index(rows: &[usize]) -> Tensor {
    Tensor::from_slice(&rows.iter().map(|&r| r as i64).collect::<Vec<_>>())
}
