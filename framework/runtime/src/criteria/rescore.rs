//! `w2s criteria RUNS`: score finished runs again with every registered stopping criterion
//! (plugins' included) from their `evals.csv`, without training, and write each run's
//! `criteria.csv` anew (it is derived from the log, so nothing recorded is lost).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use w2s_core::{atomic_file::write_atomic, metrics, Registry, Spec};

use crate::{
    report::{aligned, fmt},
    results::{self, SummaryRow},
};

use super::{criteria_specs, evals_file, score, CriterionRow};

/// The name of a run's evaluation log and of its scored criteria.
pub const EVALS_FILE: &str = "evals.csv";
pub const CRITERIA_FILE: &str = "criteria.csv";

/// The run folders under `path`: itself if it holds a `summary.csv` and an `evals.csv`, else its
/// subfolders that do (a preset's results folder), sorted.
pub fn run_folders(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let is_run = |p: &Path| p.join("summary.csv").is_file() && p.join("config.json").is_file();
    if is_run(path) {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries = std::fs::read_dir(path).with_context(|| format!("reading folder {}", path.display()))?;
    let mut runs: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| is_run(p)).collect();
    runs.sort();
    if runs.is_empty() {
        bail!("{} is neither a finished run (summary.csv, config.json) nor a folder of them", path.display());
    }
    Ok(runs)
}

/// A run's summary row and its criteria rows. `only`: score just these criteria, strictly (an
/// error if one needs data the run lacks); else every registered one and the run's own extra
/// criteria, with a note where one cannot be scored.
pub fn rescore_run(registry: &Registry, dir: &Path, only: &[Spec]) -> anyhow::Result<(SummaryRow, Vec<CriterionRow>)> {
    let row = results::read_csv::<SummaryRow>(&dir.join("summary.csv"))?
        .into_iter()
        .next()
        .with_context(|| format!("{}: an empty summary", dir.display()))?;
    let evals = dir.join(EVALS_FILE);
    if !evals.is_file() {
        bail!(
            "run {} ({}) has no {EVALS_FILE}: it finished before w2s logged students' evaluations, or it is a \
             prompting run (no training to stop); rerun it with --force to record them",
            row.run_id,
            dir.display()
        );
    }
    let (log, labels) = evals_file::read(&evals)?;
    let specs = if only.is_empty() { criteria_specs(registry, &run_extra_criteria(dir)?) } else { only.to_vec() };
    let rows = score(registry, &specs, &row.run_id, &log, &labels, (row.weak_acc, row.strong_acc), !only.is_empty())?;
    results::write_csv(&dir.join(CRITERIA_FILE), &rows)?;
    Ok((row, rows))
}

/// The `criteria` a run's preset listed (from its `config.json`).
fn run_extra_criteria(dir: &Path) -> anyhow::Result<Vec<Spec>> {
    let path = dir.join("config.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    match v.pointer("/config/criteria") {
        Some(c) => {
            serde_json::from_value(c.clone()).with_context(|| format!("{}: field config.criteria", path.display()))
        }
        None => Ok(Vec::new()),
    }
}

/// The table of `w2s criteria`: per (labeler, objective, criterion), the mean chosen step, the
/// mean test accuracy with its standard error over runs, and the median PGR with its range.
/// Cheating criteria are marked `*`.
pub fn table(runs: &[(SummaryRow, Vec<CriterionRow>)]) -> String {
    let mut keys: Vec<(String, String, String, bool)> = Vec::new();
    for (s, rows) in runs {
        for r in rows {
            let k = (s.labeler.clone(), s.objective.clone(), r.criterion.clone(), r.cheating);
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    let body: Vec<Vec<String>> = keys
        .iter()
        .map(|(labeler, objective, criterion, cheating)| {
            let picked: Vec<&CriterionRow> = runs
                .iter()
                .filter(|(s, _)| &s.labeler == labeler && &s.objective == objective)
                .flat_map(|(_, rows)| rows.iter().filter(|r| &r.criterion == criterion))
                .collect();
            let scored: Vec<&&CriterionRow> = picked.iter().filter(|r| r.step.is_some()).collect();
            let acc: Vec<f64> = scored.iter().map(|r| r.w2s_acc).collect();
            let pgr: Vec<f64> = scored.iter().map(|r| r.pgr).filter(|p| p.is_finite()).collect();
            let steps: Vec<f64> = scored.iter().filter_map(|r| r.step.map(|s| s as f64)).collect();
            let se = metrics::standard_error(&acc);
            let (lo, hi) = (
                pgr.iter().copied().fold(f64::INFINITY, f64::min),
                pgr.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            );
            vec![
                labeler.clone(),
                objective.clone(),
                format!("{criterion}{}", if *cheating { " *" } else { "" }),
                format!("{}/{}", scored.len(), picked.len()),
                if steps.is_empty() { "-".into() } else { format!("{:.0}", metrics::mean(&steps)) },
                format!("{} ±{}", fmt(metrics::mean(&acc)), fmt(se)),
                if pgr.is_empty() {
                    "NaN".into()
                } else {
                    format!("{} [{}, {}]", fmt(metrics::median(&pgr)), fmt(lo), fmt(hi))
                },
            ]
        })
        .collect();
    let header =
        ["labeler", "objective", "criterion", "scored/runs", "mean step", "w2s_acc (±SE)", "PGR (median [min, max])"];
    let mut out = aligned(&header, &body);
    if keys.iter().any(|k| k.3) {
        out.push_str("* reads the test labels: an upper bound for stopping rules, not a method\n");
    }
    out
}

/// Write `criteria.csv` and `criteria.svg` for a results folder: every run's rows, in run order.
pub fn write_collected(out: &Path, runs: &[(SummaryRow, Vec<CriterionRow>)]) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in runs.iter().flat_map(|(_, rows)| rows) {
        w.serialize(r)?;
    }
    write_atomic(&out.join(CRITERIA_FILE), &w.into_inner()?)?;
    let title = out.file_name().and_then(|n| n.to_str()).unwrap_or("w2s");
    let svg = super::figure::criteria_svg(runs, &format!("{title}: stopping criteria"));
    crate::figure::write(&out.join("criteria"), &svg)?;
    // The curves with each criterion's choice, from each run's curves.csv (student rows).
    let curves: Vec<super::curves_figure::RunCurve<'_>> = runs
        .iter()
        .map(|(summary, criteria)| super::curves_figure::RunCurve {
            summary,
            criteria,
            curve: student_curve(&out.join(&summary.run_id).join("curves.csv")),
        })
        .collect();
    match super::curves_figure::stopping_curves_svg(
        &curves,
        &format!("{title}: student accuracy over training, and where each criterion stops"),
    ) {
        Some(svg) => crate::figure::write(&out.join("stopping-curves"), &svg),
        None => Ok(()),
    }
}

/// The student's (step, test accuracy) evaluations in a run's `curves.csv`; empty when the file
/// is missing or unreadable (a figure is not worth failing a run for).
fn student_curve(path: &Path) -> Vec<(usize, f64)> {
    #[derive(serde::Deserialize)]
    struct Point {
        role: String,
        step: usize,
        test_acc: f64,
    }
    let Ok(mut reader) = csv::Reader::from_path(path) else { return Vec::new() };
    reader
        .deserialize::<Point>()
        .filter_map(Result::ok)
        .filter(|p| p.role == "student")
        .map(|p| (p.step, p.test_acc))
        .collect()
}
