//! A run's metrics and files: the summary row, `predictions.csv`, `curves.csv`.

use std::{path::Path, time::Instant};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use w2s_core::{atomic_file::write_atomic, curves::CurveRow, metrics, preset::RunConfig, Env};

use crate::results::{self, SummaryRow};

use super::stages::preds;

/// One test example's predictions, as written to `predictions.csv`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct PredictionRow {
    pub(super) index: usize,
    pub(super) label: usize,
    pub(super) weak: usize,
    pub(super) ceiling: usize,
    pub(super) student: usize,
}

/// The weak labels' own figures in a summary row.
pub(super) struct LabelFigures {
    /// Accuracy of the labels the student learns from (kept examples of B, or a prompt's shots).
    pub(super) accuracy: f64,
    /// Fraction of B kept.
    pub(super) coverage: f64,
    /// Why PGR is undefined whatever the accuracies (zero-shot prompting), if it is.
    pub(super) pgr_undefined: Option<String>,
    /// The student's misfit to the weak labels it trained on (kept examples of B): mean KL and
    /// squared distance ([`metrics::misfit`]); NaN where the student trains on none (prompting).
    pub(super) misfit_b: (f64, f64),
}

/// The figures of a run beyond accuracy: AUROC and its PGR, the bootstrap interval of PGR, the
/// student's calibration, and misfit and gain on the test set (see [`metrics`]).
struct SoftFigures {
    auroc: [f64; 3],
    pgr_auroc: f64,
    auroc_note: String,
    pgr_ci: (f64, f64),
    w2s_ece: f64,
    misfit_test: (f64, f64),
    gain_sq: f64,
}

fn soft_figures(rc: &RunConfig, [weak, ceiling, student]: [&[Vec<f32>]; 3], labels: &[usize]) -> SoftFigures {
    use metrics::{auroc::auroc_of_probs, misfit};
    let aurocs = [weak, ceiling, student].map(|p| auroc_of_probs(p, labels));
    let (auroc, pgr_auroc, auroc_note) = match aurocs {
        [Some(w), Some(s), Some(t)] => {
            let (pgr, why) = metrics::pgr(w, s, t);
            ([w, s, t], pgr, why.map(|w| format!("PGR on AUROC: {w}")).unwrap_or_default())
        }
        _ => ([f64::NAN; 3], f64::NAN, "AUROC is defined for two-class tasks (and pairs) only".to_string()),
    };
    let right = |p: &[Vec<f32>]| -> Vec<bool> { preds(p).iter().zip(labels).map(|(a, b)| a == b).collect() };
    SoftFigures {
        auroc,
        pgr_auroc,
        auroc_note,
        pgr_ci: metrics::bootstrap::pgr_interval(&right(weak), &right(ceiling), &right(student), rc.seed),
        w2s_ece: metrics::calibration::expected_calibration_error(student, labels),
        misfit_test: (misfit::kl_misfit(weak, student), misfit::squared_distance(student, weak)),
        gain_sq: misfit::squared_error(weak, labels) - misfit::squared_error(student, labels),
    }
}

/// `cpu`, `cuda:0`, ...
pub fn device_name(device: tch::Device) -> String {
    match device {
        tch::Device::Cpu => "cpu".into(),
        tch::Device::Cuda(n) => format!("cuda:{n}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

#[allow(clippy::too_many_arguments)] // each argument is a distinct figure of the run
/// A run's summary row and per-example predictions from the test probabilities of the weak
/// supervisor, the ceiling and the student (in that order).
pub(super) fn summary(
    env: &Env,
    rc: &RunConfig,
    (n_a, n_b): (usize, usize),
    ceiling_on: String,
    [weak, ceiling, student]: [&[Vec<f32>]; 3],
    test_labels: &[usize],
    labels: LabelFigures,
    start: Instant,
) -> (SummaryRow, Vec<PredictionRow>) {
    let (weak_p, ceil_p, stud_p) = (preds(weak), preds(ceiling), preds(student));
    let (weak_acc, weak_acc_se) = metrics::accuracy(&weak_p, test_labels);
    let (strong_acc, strong_acc_se) = metrics::accuracy(&ceil_p, test_labels);
    let (w2s_acc, w2s_acc_se) = metrics::accuracy(&stud_p, test_labels);
    let (mut pgr, mut why) = metrics::pgr(weak_acc, strong_acc, w2s_acc);
    if let Some(reason) = labels.pgr_undefined {
        (pgr, why) = (f64::NAN, Some(reason));
    }
    let reliable = pgr.is_finite() && metrics::gap_is_resolved(weak_acc, weak_acc_se, strong_acc, strong_acc_se, 2.0);
    if pgr.is_finite() && !reliable {
        let se = metrics::gap_se(weak_acc_se, strong_acc_se);
        why = Some(format!(
            "unreliable: the gap strong - weak = {:.4} is within 2 standard errors ({:.4}) of zero",
            strong_acc - weak_acc,
            2.0 * se
        ));
    }
    if let Some(why) = &why {
        tracing::warn!("PGR of run {}: {why}", rc.id());
    }
    let agree = metrics::agreement(&stud_p, &weak_p, test_labels);
    let soft = soft_figures(rc, [weak, ceiling, student], test_labels);
    let row = SummaryRow {
        task: rc.task.label(),
        weak: rc.weak.label(),
        strong: rc.strong.label(),
        labeler: rc.labeler.label(),
        objective: rc.objective.label(),
        chain: w2s_core::preset::chain_label(&rc.chain),
        seed: rc.seed,
        run_id: rc.id(),
        n_a,
        n_b,
        n_test: test_labels.len(),
        ceiling_on,
        weak_acc,
        weak_acc_se,
        strong_acc,
        strong_acc_se,
        w2s_acc,
        w2s_acc_se,
        pgr,
        pgr_note: why.unwrap_or_default(),
        pgr_reliable: reliable,
        agreement: agree.all,
        agreement_weak_correct: agree.weak_correct,
        agreement_weak_wrong: agree.weak_wrong,
        label_acc: labels.accuracy,
        label_coverage: labels.coverage,
        weak_auroc: soft.auroc[0],
        strong_auroc: soft.auroc[1],
        w2s_auroc: soft.auroc[2],
        pgr_auroc: soft.pgr_auroc,
        auroc_note: soft.auroc_note,
        pgr_ci_low: soft.pgr_ci.0,
        pgr_ci_high: soft.pgr_ci.1,
        w2s_ece: soft.w2s_ece,
        misfit_kl_b: labels.misfit_b.0,
        misfit_sq_b: labels.misfit_b.1,
        misfit_kl_test: soft.misfit_test.0,
        misfit_sq_test: soft.misfit_test.1,
        gain_sq: soft.gain_sq,
        seconds: start.elapsed().as_secs_f64(),
        device: device_name(env.device),
        threads: tch::get_num_threads(),
        w2s_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let pred_rows = (0..test_labels.len())
        .map(|i| PredictionRow {
            index: i,
            label: test_labels[i],
            weak: weak_p[i],
            ceiling: ceil_p[i],
            student: stud_p[i],
        })
        .collect();
    (row, pred_rows)
}

/// A run's files; the summary last, so that a folder with a summary is a finished run.
pub(super) fn write_run(
    dir: &Path,
    rc: &RunConfig,
    wdir: &Path,
    curves: &[CurveRow],
    preds: &[PredictionRow],
    row: SummaryRow,
) -> anyhow::Result<SummaryRow> {
    let record = serde_json::json!({
        "config": rc, "run_id": row.run_id, "device": row.device, "threads": row.threads,
        "w2s_version": row.w2s_version,
    });
    write_atomic(&dir.join("config.json"), serde_json::to_string_pretty(&record)?.as_bytes())?;
    std::fs::copy(wdir.join("weak_labels.csv"), dir.join("weak_labels.csv"))
        .with_context(|| format!("copying weak labels into {}", dir.display()))?;
    results::write_csv(&dir.join("curves.csv"), curves)?;
    results::write_csv(&dir.join("predictions.csv"), preds)?;
    results::write_csv(&dir.join("summary.csv"), std::slice::from_ref(&row))?;
    Ok(row)
}
