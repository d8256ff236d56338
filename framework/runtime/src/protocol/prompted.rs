//! A prompting baseline in place of training (see `w2s_core::prompting`): the strong model
//! classifies the test set by in-context prompting.

use std::{path::Path, time::Instant};

use anyhow::bail;

use w2s_core::{curves::CurveRow, metrics, preset::RunConfig, Dataset, Env, Example};

use crate::results::SummaryRow;

use super::summary::{summary, write_run, LabelFigures};

/// The weak stage's results, as a run reads them.
pub(super) struct WeakRun<'a> {
    pub(super) wdir: &'a Path,
    pub(super) weak_b: &'a [Vec<f32>],
    pub(super) keep: &'a [bool],
    pub(super) weak_test: &'a [Vec<f32>],
    pub(super) curves: Vec<CurveRow>,
}

/// A prompting baseline in place of training (see [`w2s_core::prompting`]): the strong model
/// prompted with k shots of half B carrying gold labels (the ceiling) or weak labels (the
/// student), on the first `spec.n_test` test examples.
#[allow(clippy::too_many_arguments)]
pub(super) fn prompted_run(
    env: &Env,
    strong_bb: &dyn w2s_core::Backbone,
    rc: &RunConfig,
    dir: &Path,
    data: &Dataset,
    b: &[usize],
    spec: &w2s_core::prompting::PromptSpec,
    weak: WeakRun<'_>,
    start: Instant,
) -> anyhow::Result<SummaryRow> {
    use w2s_core::prompting;
    let Some(lm) = strong_bb.language_model(env)? else {
        bail!("objective `prompt` needs a language-model strong backbone; {} is not one", rc.strong.label());
    };
    let n_test = if spec.n_test == 0 { data.test.len() } else { spec.n_test.min(data.test.len()) };
    let test: Vec<&Example> = data.test[..n_test].iter().collect();
    let test_labels: Vec<usize> = test.iter().map(|e| e.label).collect();
    let words = spec.words(&data.class_names)?;
    // Shots come from the examples of B that the labeler kept (a labeler that abstains on an
    // example must not have its label shown).
    let kept: Vec<usize> = (0..b.len()).filter(|&j| weak.keep.get(j).copied().unwrap_or(false)).collect();
    if kept.len() < spec.k {
        bail!(
            "objective `prompt` with k = {} needs that many kept examples of half B; the labeler kept {}",
            spec.k,
            kept.len()
        );
    }
    let shots: Vec<usize> = prompting::choose_shots(&kept, spec.k, rc.seed).into_iter().map(|p| kept[p]).collect();
    let gold: Vec<(&str, usize)> =
        shots.iter().map(|&j| (data.train[b[j]].text.as_str(), data.train[b[j]].label)).collect();
    let weak_shots: Vec<(&str, usize)> =
        shots.iter().map(|&j| (data.train[b[j]].text.as_str(), metrics::argmax(&weak.weak_b[j]))).collect();
    // Zero-shot, or when every weak label on the shots is right, the two prompts are the same:
    // one pass scores both.
    let same_prompts = weak_shots == gold;
    let passes = if same_prompts { 1 } else { 2 };
    let bar = w2s_core::progress::bar(
        env,
        (passes * n_test) as u64,
        format!("prompting {} ({}-shot)", rc.strong.label(), spec.k),
    );
    let tick = |n: usize| bar.inc(n as u64);
    let gold_probs = prompting::classify(lm.as_ref(), spec, &words, &gold, &test, &tick)?;
    let weak_probs = if same_prompts {
        gold_probs.clone()
    } else {
        prompting::classify(lm.as_ref(), spec, &words, &weak_shots, &test, &tick)?
    };
    bar.finish_and_clear();

    let shot_acc = metrics::accuracy(
        &weak_shots.iter().map(|s| s.1).collect::<Vec<_>>(),
        &gold.iter().map(|s| s.1).collect::<Vec<_>>(),
    )
    .0;
    let b_len = b.len();
    let labels = LabelFigures {
        accuracy: shot_acc,
        coverage: kept.len() as f64 / b_len.max(1) as f64,
        // Zero-shot, the "student" prompt holds no weak labels: it is the ceiling's prompt, and
        // PGR would be 1 by construction.
        pgr_undefined: (spec.k == 0).then(|| {
            "zero-shot prompting (k = 0) shows no labels, weak or gold: the student's prompt is the \
             ceiling's, so w2s_acc = strong_acc by construction and PGR is undefined"
                .to_string()
        }),
        misfit_b: (f64::NAN, f64::NAN),
    };
    let probs = [&weak.weak_test[..n_test], gold_probs.as_slice(), weak_probs.as_slice()];
    let halves = (data.train.len() - b_len, b_len);
    let (row, pred_rows) =
        summary(env, rc, halves, format!("{}-shot gold prompt", spec.k), probs, &test_labels, labels, start);
    write_run(dir, rc, weak.wdir, &weak.curves, &pred_rows, row)
}
