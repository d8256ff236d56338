//! Results on disk: CSV files (written with [`w2s_core::atomic_file`]), the summary row, and label
//! files.

use std::{collections::BTreeMap, path::Path};

use anyhow::Context;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use w2s_core::atomic_file::write_atomic;

/// Serialize rows as CSV (with a header) and write them atomically.
pub fn write_csv<T: Serialize>(path: &Path, rows: &[T]) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)?;
    }
    write_atomic(path, &w.into_inner()?)
}

/// Read CSV rows written by [`write_csv`]; errors name the file and line.
pub fn read_csv<T: DeserializeOwned>(path: &Path) -> anyhow::Result<Vec<T>> {
    let mut r = csv::Reader::from_path(path).with_context(|| format!("opening {}", path.display()))?;
    r.deserialize().map(|row| row.with_context(|| format!("reading {}", path.display()))).collect()
}

/// Check that `dir` can be created and written to, before any work starts.
pub fn ensure_writable(dir: &Path) -> anyhow::Result<()> {
    // Named by process: workers sharing the folder probe it at the same time.
    let probe = dir.join(format!(".w2s-write-probe-{}", std::process::id()));
    std::fs::create_dir_all(dir)
        .and_then(|_| std::fs::write(&probe, b"ok"))
        .and_then(|_| std::fs::remove_file(&probe))
        .with_context(|| format!("output folder {} is not writable; choose another with --out DIR", dir.display()))
}

/// A figure that a finished run's `summary.csv` does not hold (it was computed by an older w2s).
fn not_recorded() -> f64 {
    f64::NAN
}

fn not_recorded_note() -> String {
    "not recorded: the run finished before w2s computed it (rerun with --force)".into()
}

/// One run's results: the row of `summary.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    pub task: String,
    pub weak: String,
    pub strong: String,
    pub labeler: String,
    pub objective: String,
    /// The intermediate links of the run's bootstrapping chain, `a > b` (empty: direct).
    #[serde(default)]
    pub chain: String,
    pub seed: u64,
    pub run_id: String,
    pub n_a: usize,
    pub n_b: usize,
    pub n_test: usize,
    pub ceiling_on: String,
    /// Test accuracy of the supervisor (the weak model, or the synthetic labeler).
    pub weak_acc: f64,
    pub weak_acc_se: f64,
    pub strong_acc: f64,
    pub strong_acc_se: f64,
    pub w2s_acc: f64,
    pub w2s_acc_se: f64,
    pub pgr: f64,
    /// Why `pgr` is NaN, or why it is unreliable, when it is.
    pub pgr_note: String,
    /// False when the gap strong − weak is within 2 standard errors of zero: PGR is then a ratio
    /// of noise and says little (see [`w2s_core::metrics::gap_is_resolved`]).
    pub pgr_reliable: bool,
    pub agreement: f64,
    pub agreement_weak_correct: f64,
    pub agreement_weak_wrong: f64,
    /// Accuracy of the weak labels on half B, against ground truth (kept examples only).
    pub label_acc: f64,
    /// Fraction of half B the labeler kept.
    pub label_coverage: f64,
    /// Test AUROC of the supervisor, the ceiling and the student (two-class tasks and pairs), and
    /// PGR on AUROC, as EleutherAI/w2s reports it; NaN elsewhere, with the reason in `auroc_note`.
    #[serde(default = "not_recorded")]
    pub weak_auroc: f64,
    #[serde(default = "not_recorded")]
    pub strong_auroc: f64,
    #[serde(default = "not_recorded")]
    pub w2s_auroc: f64,
    #[serde(default = "not_recorded")]
    pub pgr_auroc: f64,
    #[serde(default = "not_recorded_note")]
    pub auroc_note: String,
    /// 95% percentile-bootstrap interval of PGR over test examples.
    #[serde(default = "not_recorded")]
    pub pgr_ci_low: f64,
    #[serde(default = "not_recorded")]
    pub pgr_ci_high: f64,
    /// Expected calibration error of the student on the test set (10 bins).
    #[serde(default = "not_recorded")]
    pub w2s_ece: f64,
    /// The student's misfit to the weak labels (Charikar et al. 2024): on the kept examples of B
    /// it trained on and on the test set, as mean KL(weak ‖ student) and squared distance.
    #[serde(default = "not_recorded")]
    pub misfit_kl_b: f64,
    #[serde(default = "not_recorded")]
    pub misfit_sq_b: f64,
    #[serde(default = "not_recorded")]
    pub misfit_kl_test: f64,
    #[serde(default = "not_recorded")]
    pub misfit_sq_test: f64,
    /// Gain over the supervisor in squared error on test (Brier score of the weak labels minus
    /// the student's; positive when the student is closer to the truth), to set against
    /// `misfit_sq_test`.
    #[serde(default = "not_recorded")]
    pub gain_sq: f64,
    pub seconds: f64,
    /// Where and with what the run was computed.
    pub device: String,
    pub threads: i32,
    pub w2s_version: String,
}

#[cfg(test)]
impl SummaryRow {
    /// A row for tests: configuration `t/w/s/model/objective`, 1,000 test examples (binomial
    /// standard errors), PGR from the accuracies.
    pub(crate) fn example(objective: &str, seed: u64, weak: f64, strong: f64, w2s: f64) -> SummaryRow {
        let se = |a: f64| (a * (1.0 - a) / 1000.0).sqrt();
        let (pgr, note) = w2s_core::metrics::pgr(weak, strong, w2s);
        SummaryRow {
            task: "t".into(),
            weak: "w".into(),
            strong: "s".into(),
            labeler: "model".into(),
            objective: objective.into(),
            chain: String::new(),
            seed,
            run_id: format!("r{seed}"),
            n_a: 1000,
            n_b: 1000,
            n_test: 1000,
            ceiling_on: "B".into(),
            weak_acc: weak,
            weak_acc_se: se(weak),
            strong_acc: strong,
            strong_acc_se: se(strong),
            w2s_acc: w2s,
            w2s_acc_se: se(w2s),
            pgr,
            pgr_note: note.unwrap_or_default(),
            pgr_reliable: pgr.is_finite(),
            agreement: 0.8,
            agreement_weak_correct: 0.9,
            agreement_weak_wrong: 0.5,
            label_acc: weak,
            label_coverage: 1.0,
            weak_auroc: f64::NAN,
            strong_auroc: f64::NAN,
            w2s_auroc: f64::NAN,
            pgr_auroc: f64::NAN,
            auroc_note: String::new(),
            pgr_ci_low: f64::NAN,
            pgr_ci_high: f64::NAN,
            w2s_ece: f64::NAN,
            misfit_kl_b: f64::NAN,
            misfit_sq_b: f64::NAN,
            misfit_kl_test: f64::NAN,
            misfit_sq_test: f64::NAN,
            gain_sq: f64::NAN,
            seconds: 1.0,
            device: "cpu".into(),
            threads: 1,
            w2s_version: "0".into(),
        }
    }
}

/// Soft labels of one split, as written to `weak_labels.csv`.
pub struct LabelSection<'a> {
    pub split: &'a str,
    pub index: &'a [usize],
    pub label: Vec<usize>,
    pub probs: &'a [Vec<f32>],
    pub keep: Option<&'a [bool]>,
}

/// Write soft labels: columns split, index, label, p0..pK, keep.
pub fn write_labels(path: &Path, sections: &[LabelSection<'_>]) -> anyhow::Result<()> {
    let k = sections.iter().find_map(|s| s.probs.first()).map_or(0, |p| p.len());
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["split".to_string(), "index".into(), "label".into()];
    header.extend((0..k).map(|c| format!("p{c}")));
    header.push("keep".into());
    w.write_record(&header)?;
    for s in sections {
        for (i, p) in s.probs.iter().enumerate() {
            let mut rec = vec![s.split.to_string(), s.index[i].to_string(), s.label[i].to_string()];
            rec.extend(p.iter().map(|x| x.to_string()));
            rec.push(s.keep.is_none_or(|k| k[i]).to_string());
            w.write_record(&rec)?;
        }
    }
    write_atomic(path, &w.into_inner()?)
}

/// Read soft labels of one split back: (probabilities, keep flags), in file order.
pub fn read_labels(path: &Path, split: &str) -> anyhow::Result<(Vec<Vec<f32>>, Vec<bool>)> {
    Ok(read_label_splits(path)?.remove(split).unwrap_or_default())
}

/// The splits of a label file: split name → (probabilities, keep flags).
pub type LabelSplits = BTreeMap<String, (Vec<Vec<f32>>, Vec<bool>)>;

/// Read every split of a label file in one pass.
pub fn read_label_splits(path: &Path) -> anyhow::Result<LabelSplits> {
    let mut r = csv::Reader::from_path(path).with_context(|| format!("opening {}", path.display()))?;
    let header = r.headers().with_context(|| format!("reading the header of {}", path.display()))?.clone();
    let k = header.iter().filter(|h| h.starts_with('p')).count();
    let expected: Vec<String> = ["split", "index", "label"]
        .into_iter()
        .map(String::from)
        .chain((0..k).map(|c| format!("p{c}")))
        .chain(["keep".to_string()])
        .collect();
    if k == 0 || header.iter().ne(expected.iter().map(|s| s.as_str())) {
        anyhow::bail!(
            "{}: header {:?} is not a label file's (split, index, label, p0.., keep)",
            path.display(),
            header.iter().collect::<Vec<_>>()
        );
    }
    let mut splits = LabelSplits::new();
    for (line, rec) in r.records().enumerate() {
        let rec = rec.with_context(|| format!("reading {}", path.display()))?;
        let parse = |i: usize| -> anyhow::Result<f32> {
            rec.get(i)
                .unwrap_or_default()
                .parse()
                .with_context(|| format!("{} line {}: column {} is not a number", path.display(), line + 2, i + 1))
        };
        let probs = (3..3 + k).map(parse).collect::<anyhow::Result<Vec<f32>>>()?;
        let keep = match rec.get(3 + k) {
            Some("true") => true,
            Some("false") => false,
            other => anyhow::bail!(
                "{} line {}: column `keep` is {other:?}, expected true or false",
                path.display(),
                line + 2
            ),
        };
        let entry = splits.entry(rec.get(0).unwrap_or_default().to_string()).or_default();
        entry.0.push(probs);
        entry.1.push(keep);
    }
    Ok(splits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("l.csv");
        let probs = vec![vec![0.25f32, 0.75], vec![1.0, 0.0]];
        let keep = [true, false];
        write_labels(
            &f,
            &[
                LabelSection { split: "b", index: &[4, 9], label: vec![1, 0], probs: &probs, keep: Some(&keep) },
                LabelSection { split: "test", index: &[0], label: vec![0], probs: &probs[..1], keep: None },
            ],
        )
        .unwrap();
        let (p, k) = read_labels(&f, "b").unwrap();
        assert_eq!((p, k), (probs.clone(), vec![true, false]));
        assert_eq!(read_labels(&f, "test").unwrap().0, vec![vec![0.25, 0.75]]);
    }

    #[test]
    fn a_summary_written_before_the_soft_metrics_still_reads_with_them_not_recorded() {
        // A finished run's summary.csv from before AUROC, calibration and misfit were recorded:
        // the run is reused (not recomputed), and the figures it lacks are NaN with the reason.
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("summary.csv");
        let mut old = serde_json::to_value(SummaryRow::example("xent", 0, 0.6, 0.8, 0.7)).unwrap();
        let new_fields = ["weak_auroc", "strong_auroc", "w2s_auroc", "pgr_auroc", "auroc_note", "pgr_ci_low"];
        for field in new_fields.iter().chain(&["pgr_ci_high", "w2s_ece", "misfit_kl_b", "misfit_sq_b"]) {
            old.as_object_mut().unwrap().remove(*field);
        }
        for field in ["misfit_kl_test", "misfit_sq_test", "gain_sq"] {
            old.as_object_mut().unwrap().remove(field);
        }
        let header: Vec<String> = old.as_object().unwrap().keys().cloned().collect();
        let values: Vec<String> = old
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
            .collect();
        std::fs::write(&f, format!("{}\n{}\n", header.join(","), values.join(","))).unwrap();
        let rows: Vec<SummaryRow> = read_csv(&f).unwrap();
        assert_eq!((rows[0].w2s_acc, rows[0].run_id.as_str()), (0.7, "r0"));
        assert!(rows[0].pgr_auroc.is_nan() && rows[0].w2s_ece.is_nan() && rows[0].gain_sq.is_nan());
        assert!(rows[0].auroc_note.contains("not recorded"), "{}", rows[0].auroc_note);
    }

    #[test]
    fn unwritable_output_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"x").unwrap();
        let err = format!("{:#}", ensure_writable(&file.join("out")).unwrap_err());
        assert!(err.contains("not writable") && err.contains("a-file"), "{err}");
    }
}
