//! Weak labelers: who supervises the student.

use anyhow::Context;
use w2s_core::{rng, LabelerCtx, Spec, WeakLabels};

pub mod confident;
pub mod denoise;
pub mod easy;
pub mod ensemble;
pub mod flip;
pub mod flip_words;
pub mod ground_truth;
pub mod model;
pub mod noise;

/// A one-hot distribution over `k` classes, with `confidence` on `label` and the rest spread
/// evenly (confidence 1 gives a hard label).
pub fn soft_one_hot(label: usize, k: usize, confidence: f32) -> Vec<f32> {
    let rest = if k > 1 { (1.0 - confidence) / (k - 1) as f32 } else { 0.0 };
    (0..k).map(|c| if c == label { confidence } else { rest }).collect()
}

/// The labeler that wrapping labelers (`confident`, `easy`) wrap unless told otherwise: the
/// standard weak model.
pub fn default_inner() -> Spec {
    Spec::new("model")
}

/// Build the labeler that `spec` names from the context's registry and let it label.
pub fn label_with(ctx: &mut LabelerCtx<'_>, spec: &Spec) -> anyhow::Result<WeakLabels> {
    let inner = ctx.registry.labeler(spec).context("inner labeler")?;
    inner.label(ctx).with_context(|| format!("inner labeler {}", spec.label()))
}

/// Accuracy on half B (kept examples, against ground truth) of the labeler that `spec` names:
/// the target that `noise` and `flip` match with `matched_to`.
pub fn accuracy_of(ctx: &mut LabelerCtx<'_>, spec: &Spec) -> anyhow::Result<f64> {
    let labels = label_with(ctx, spec)?;
    let (mut right, mut n) = (0usize, 0usize);
    for (j, &i) in ctx.b.iter().enumerate() {
        if labels.keep[j] {
            n += 1;
            right += usize::from(w2s_core::metrics::argmax(&labels.b[j]) == ctx.data.train[i].label);
        }
    }
    anyhow::ensure!(n > 0, "labeler {} kept no examples of B: no accuracy to match", spec.label());
    let acc = right as f64 / n as f64;
    tracing::info!("matching the accuracy of {} on B: {:.4}", spec.label(), acc);
    Ok(acc)
}

/// Tie-breaking keys for the examples of B: a pure function of (seed, stream, example index in
/// the training pool), so that ties favour no class or position and do not depend on B's order.
pub fn tie_keys(ctx: &LabelerCtx<'_>, stream: &str) -> Vec<u64> {
    ctx.b.iter().map(|&i| rng::key(ctx.seed, stream, i as u64)).collect()
}

/// Tie-breaking keys for the test examples, as [`tie_keys`] for B: (seed, stream, test index).
pub fn test_tie_keys(ctx: &LabelerCtx<'_>, stream: &str) -> Vec<u64> {
    (0..ctx.data.test.len()).map(|i| rng::key(ctx.seed, stream, i as u64)).collect()
}

/// Of the `eligible` examples, mark the `fraction` (rounded, at least one when any is eligible)
/// with the highest `scores`; equal scores go to the lower tie key.
pub fn keep_top(scores: &[f64], eligible: &[bool], fraction: f64, ties: &[u64]) -> Vec<bool> {
    let mut order: Vec<usize> = (0..scores.len()).filter(|&i| eligible[i]).collect();
    let n = ((fraction * order.len() as f64).round() as usize).clamp(usize::from(!order.is_empty()), order.len());
    order.sort_by(|&i, &j| scores[j].total_cmp(&scores[i]).then(ties[i].cmp(&ties[j])));
    let mut keep = vec![false; scores.len()];
    for &i in &order[..n] {
        keep[i] = true;
    }
    keep
}

/// A tiny labelling context for unit tests: builds a labeler from its spec with the built-in
/// registry and runs it on `data` with half B = `b` (half A = the rest).
#[cfg(test)]
pub(crate) fn label_for_test(
    spec: &Spec,
    data: &w2s_core::Dataset,
    b: &[usize],
    seed: u64,
) -> anyhow::Result<WeakLabels> {
    let env = w2s_core::Env { cache_dir: std::env::temp_dir(), device: tch::Device::Cpu, show_progress: false };
    label_for_test_in(&env, spec, data, b, seed)
}

/// [`label_for_test`] in `env` (e.g. one whose cache holds the fetched assets).
#[cfg(test)]
pub(crate) fn label_for_test_in(
    env: &w2s_core::Env,
    spec: &Spec,
    data: &w2s_core::Dataset,
    b: &[usize],
    seed: u64,
) -> anyhow::Result<WeakLabels> {
    let registry = w2s_core::Registry::with_builtins()?;
    let weak = crate::backbones::bow::Bow::new(Default::default())?;
    let weak_train = w2s_core::TrainConfig::default();
    let a: Vec<usize> = (0..data.train.len()).filter(|i| !b.contains(i)).collect();
    let mut ctx = LabelerCtx {
        env,
        registry: &registry,
        data,
        a: &a,
        b,
        seed,
        weak: &weak,
        weak_train: &weak_train,
        trainer: &w2s_runtime::weak_trainer::LoopTrainer,
        curves: Vec::new(),
    };
    label_with(&mut ctx, spec)
}

/// A spec for unit tests: `kind` with the parameters of the JSON object `params`.
#[cfg(test)]
pub(crate) fn test_spec(kind: &str, mut params: serde_json::Value) -> Spec {
    params["kind"] = kind.into();
    serde_json::from_value(params).expect("a valid spec")
}

/// A dataset for unit tests: `n` training and `n` test examples over `k` classes, texts of
/// varied lengths, every fifth one containing "Great".
#[cfg(test)]
pub(crate) fn test_dataset(n: usize, k: usize) -> w2s_core::Dataset {
    let make = |i: usize| {
        w2s_core::Example::new(
            format!("{}{}", if i.is_multiple_of(5) { "a Great film " } else { "" }, "x".repeat((i * 7) % 40)),
            i % k,
        )
    };
    w2s_core::Dataset {
        n_classes: k,
        class_names: (0..k).map(|c| format!("c{c}")).collect(),
        train: (0..n).map(make).collect(),
        test: (0..n).map(|i| make(i + 1)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_top_keeps_the_fraction_with_the_highest_scores() {
        let n = 101;
        let scores: Vec<f64> = (0..n).map(|i| rng::uniform(3, "s", i as u64)).collect();
        let eligible: Vec<bool> = (0..n).map(|i| i % 10 != 0).collect();
        let ties: Vec<u64> = (0..n as u64).collect();
        let keep = keep_top(&scores, &eligible, 0.3, &ties);
        assert_eq!(keep.iter().filter(|&&k| k).count(), (0.3f64 * 90.0).round() as usize);
        assert!(keep.iter().zip(&eligible).all(|(&k, &e)| e || !k), "only eligible examples are kept");
        let lowest_kept = (0..n).filter(|&i| keep[i]).map(|i| scores[i]).fold(f64::MAX, f64::min);
        assert!((0..n).filter(|&i| eligible[i] && !keep[i]).all(|i| scores[i] < lowest_kept));
        // Equal scores: the lower tie keys win; a small positive fraction keeps at least one.
        assert_eq!(keep_top(&[1.0; 4], &[true; 4], 0.5, &[9, 2, 5, 1]), [false, true, false, true]);
        assert_eq!(keep_top(&[1.0; 4], &[true; 4], 0.01, &[0, 1, 2, 3]), [true, false, false, false]);
        assert_eq!(keep_top(&[1.0; 2], &[false; 2], 0.5, &[0, 1]), [false, false]);
    }
}
