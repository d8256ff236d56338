//! Generative fine-tuning: next-token training of a decoder on a task's unlabeled texts before
//! weak-to-strong training (the paper's §5.2.2 "generative finetuning" on the task's data, which
//! makes the task's concepts more salient to the strong model).
//!
//! The decoder (cut to the backbone's `layers`; its final norm and tied or own output layer on
//! top) is trained with next-token cross-entropy over the real tokens of each text (Adam, constant
//! learning rate, seeded order), all its weights or only the top `top_k` blocks and the final
//! norm. The trained weights are saved (safetensors, HF names) under
//! `env.derived_dir("generative")`, keyed by the checkpoint, the settings and the texts, and
//! reused when asked again.
//!
//! Parameters ([`GenerativeSpec`], a backbone's `generative` param): `epochs` (default 1), `lr`
//! (default 1e-5), `max_texts` (train on the first this many texts; default 2000), `batch_size`
//! (default 8), `max_len` (texts cut to their first this many tokens; default 128), `top_k`
//! (train only the top this many blocks; absent: every weight), `seed` (the order of texts).

use std::path::PathBuf;

use anyhow::{ensure, Context};
use serde::{Deserialize, Serialize};
use tch::{nn, nn::OptimizerConfig, Kind, Tensor};
use w2s_core::{backbone::pad_batch, params::check, progress, rng, Env, Params};

use crate::{
    feature_cache::texts_hash,
    tokenize::Tokens,
    trunk::{share_top, Trunk},
};

/// Settings of generative fine-tuning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GenerativeSpec {
    pub epochs: usize,
    pub lr: f64,
    pub max_texts: usize,
    pub batch_size: usize,
    pub max_len: usize,
    pub top_k: Option<usize>,
    pub seed: u64,
}

impl Default for GenerativeSpec {
    fn default() -> Self {
        GenerativeSpec { epochs: 1, lr: 1e-5, max_texts: 2000, batch_size: 8, max_len: 128, top_k: None, seed: 0 }
    }
}

impl Params for GenerativeSpec {
    fn validate(&self) -> anyhow::Result<()> {
        check(self.epochs >= 1, "generative.epochs", "at least 1")?;
        check(self.lr > 0.0 && self.lr.is_finite(), "generative.lr", "a positive number")?;
        check(self.max_texts >= 1 && self.batch_size >= 1, "generative.max_texts", "at least 1 (and batch_size too)")?;
        check(self.max_len >= 2, "generative.max_len", "at least 2 tokens")?;
        check(self.top_k != Some(0), "generative.top_k", "at least 1 block (or absent for all weights)")
    }
}

/// Mean next-token cross-entropy over the real tokens (0/1 `mask` `[b, t]`) of right-padded ids
/// `[b, t]`: position `i` predicts token `i + 1`.
pub fn next_token_loss(trunk: &dyn Trunk, ids: &Tensor, mask: &Tensor) -> Tensor {
    let t = ids.size()[1];
    let logits = trunk.lm_logits(&trunk.hidden_states(ids, Some(mask))).narrow(1, 0, t - 1);
    let targets = ids.narrow(1, 1, t - 1);
    let weights = mask.narrow(1, 1, t - 1).to_kind(Kind::Float);
    let nll = -logits.log_softmax(-1, Kind::Float).gather(2, &targets.unsqueeze(-1), false).squeeze_dim(-1);
    (nll * &weights).sum(Kind::Float) / weights.sum(Kind::Float).clamp_min(1.0)
}

/// The weights of the decoder that `build` makes, fine-tuned on `texts` by `spec`: the path of
/// their safetensors file (trained now, or earlier with the same `base_key`, settings and texts).
pub fn adapt(
    env: &Env,
    base_key: &str,
    tokens: &Tokens,
    texts: &[&str],
    spec: &GenerativeSpec,
    build: impl FnOnce(&nn::VarStore) -> anyhow::Result<Box<dyn Trunk>>,
) -> anyhow::Result<PathBuf> {
    spec.validate()?;
    let texts = &texts[..texts.len().min(spec.max_texts)];
    let name = texts_hash(&format!("{base_key}|{}|", serde_json::to_string(spec)?), texts);
    let path = env.derived_dir("generative")?.join(format!("{name}.safetensors"));
    if path.is_file() {
        return Ok(path);
    }
    // One process adapts; the others sharing the cache (`--jobs`, a Slurm array) wait for it.
    let _adapting = w2s_core::file_lock::lock(&path.with_extension("lock"))?;
    if path.is_file() {
        return Ok(path);
    }
    let ids: Vec<Vec<i64>> =
        (tokens.encode)(&tokens.tok, texts, spec.max_len)?.into_iter().filter(|t| t.len() >= 2).collect();
    ensure!(!ids.is_empty(), "generative fine-tuning needs texts of at least 2 tokens");
    let mut vs = nn::VarStore::new(env.device);
    let trunk = build(&vs)?;
    let top = nn::VarStore::new(env.device);
    let trained = match spec.top_k {
        None => &vs,
        Some(k) => {
            vs.freeze();
            share_top(&vs, trunk.as_ref(), k, &top)?;
            &top
        }
    };
    let mut opt = nn::Adam::default().build(trained, spec.lr)?;
    let bar = progress::bar(env, (spec.epochs * ids.len()) as u64, "generative fine-tuning");
    for epoch in 0..spec.epochs {
        let order = rng::permutation(ids.len(), spec.seed.wrapping_add(epoch as u64), "generative");
        let (mut sum, mut n) = (0.0, 0);
        for rows in order.chunks(spec.batch_size) {
            let (x, mask) = pad_batch(&ids, rows, tokens.pad_id, env.device);
            let loss = next_token_loss(trunk.as_ref(), &x, &mask);
            opt.backward_step(&loss);
            sum += loss.double_value(&[]);
            n += 1;
            bar.inc(rows.len() as u64);
        }
        tracing::info!("generative fine-tuning epoch {}: mean next-token loss {:.4}", epoch + 1, sum / n as f64);
    }
    bar.finish_and_clear();
    let named: Vec<(String, Tensor)> = vs.variables().into_iter().map(|(n, t)| (n, t.detach())).collect();
    w2s_core::atomic_file::write_atomic_with(&path, |tmp| Ok(Tensor::write_safetensors(&named, tmp)?))?;
    Ok(path)
}

/// Overwrite the variables of `vs` (a freshly built trunk) with the fine-tuned weights in `path`.
pub fn load(vs: &nn::VarStore, path: &std::path::Path) -> anyhow::Result<()> {
    let saved: std::collections::HashMap<String, Tensor> = Tensor::read_safetensors(path)
        .with_context(|| format!("loading fine-tuned weights {}", path.display()))?
        .into_iter()
        .collect();
    let _guard = tch::no_grad_guard();
    for (name, mut var) in vs.variables() {
        let t = saved.get(&name).with_context(|| format!("{} lacks tensor {name}", path.display()))?;
        ensure!(
            t.size() == var.size(),
            "{}: {name} has shape {:?}, expected {:?}",
            path.display(),
            t.size(),
            var.size()
        );
        var.copy_(t);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        arch::llama::{Llama, LlamaConfig},
        testing::{random_init, write_tiny_vocab},
        tokenize::hf as tokenizer,
    };
    use tch::Device;

    #[test]
    fn next_token_training_lowers_the_loss_and_is_reused() {
        let dir = tempfile::tempdir().unwrap();
        let env = Env { cache_dir: dir.path().join("cache"), device: Device::Cpu, show_progress: false };
        write_tiny_vocab(dir.path());
        let tok = tokenizer::byte_level_bpe(&dir.path().join("vocab.json"), &dir.path().join("merges.txt")).unwrap();
        let tokens = Tokens::hf(tok);
        let cfg = LlamaConfig {
            vocab_size: 300,
            hidden_size: 32,
            intermediate_size: 64,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            num_key_value_heads: 2,
            rope_theta: 10_000.0,
            rms_norm_eps: 1e-5,
            tie_word_embeddings: true,
            attention_bias: false,
            o_proj_bias: false,
            context_length: None,
            rope_scaling: Default::default(),
            head_dim: None,
            qk_norm: false,
        };
        // `random_init` is keyed by parameter names, so both builds start from the same weights
        // even while other tests use libtorch's global generator.
        let build = |vs: &nn::VarStore| -> anyhow::Result<Box<dyn Trunk>> {
            Ok(Box::new(Llama::new(vs.root(), &cfg, &mut random_init)?))
        };
        let texts = ["the cat sat on the mat", "the dog sat on the log", "the the the"];
        let loss_of = |vs: &nn::VarStore, trunk: &dyn Trunk, weights: Option<&std::path::Path>| {
            if let Some(w) = weights {
                load(vs, w).unwrap();
            }
            let ids = (tokens.encode)(&tokens.tok, &texts, 128).unwrap();
            let (x, mask) = pad_batch(&ids, &[0, 1, 2], 0, Device::Cpu);
            tch::no_grad(|| next_token_loss(trunk, &x, &mask).double_value(&[]))
        };
        let spec = GenerativeSpec { epochs: 20, lr: 1e-2, batch_size: 3, top_k: Some(1), ..Default::default() };
        let path = adapt(&env, "tiny", &tokens, &texts, &spec, build).unwrap();
        let vs = nn::VarStore::new(Device::Cpu);
        let trunk = build(&vs).unwrap();
        let before = loss_of(&vs, trunk.as_ref(), None);
        let bottom = vs.variables()["model.layers.0.mlp.up_proj.weight"].copy();
        let after = loss_of(&vs, trunk.as_ref(), Some(&path));
        assert!(after < 0.8 * before, "loss {before} -> {after}");
        // top_k = 1: the bottom block is unchanged, the top one trained.
        assert!(vs.variables()["model.layers.0.mlp.up_proj.weight"].equal(&bottom));
        // The same request reuses the file (the builder is not even called).
        let again = adapt(&env, "tiny", &tokens, &texts, &spec, |_| anyhow::bail!("retrained")).unwrap();
        assert_eq!(again, path);
        let other = GenerativeSpec { epochs: 1, ..spec };
        assert!(adapt(&env, "tiny", &tokens, &texts, &other, |_| anyhow::bail!("retrained")).is_err());
    }
}
