//! The weak and ceiling stages on disk: read back and checked (a damaged stage is recomputed),
//! and the weak labels file.

use std::path::Path;

use anyhow::bail;

use w2s_core::{curves::CurveRow, metrics, Dataset, Example, WeakLabels};

use crate::results::{self, LabelSection};

/// A weak stage read back from its folder.
pub(super) struct WeakStage {
    pub(super) b: Vec<Vec<f32>>,
    pub(super) keep: Vec<bool>,
    pub(super) test: Vec<Vec<f32>>,
    pub(super) curves: Vec<CurveRow>,
}

/// A ceiling stage read back from its folder.
pub(super) struct CeilingStage {
    pub(super) test: Vec<Vec<f32>>,
    pub(super) curves: Vec<CurveRow>,
}

/// Check that label rows read back from `file` are `n` distributions over `k` classes.
pub(super) fn check_rows(file: &Path, what: &str, rows: &[Vec<f32>], n: usize, k: usize) -> anyhow::Result<()> {
    if rows.len() != n {
        bail!("{}: {} rows of {what}, expected {n}", file.display(), rows.len());
    }
    if let Some((i, p)) = first_non_distribution(rows, k) {
        bail!("{}: row {i} of {what} is not a distribution over {k} classes: {p:?}", file.display());
    }
    Ok(())
}

/// The first row (with its index) that is not a probability distribution over `k` classes: `k`
/// finite, non-negative entries summing to 1 (within 1e-3).
pub(super) fn first_non_distribution<'a>(
    rows: impl IntoIterator<Item = &'a Vec<f32>>,
    k: usize,
) -> Option<(usize, &'a Vec<f32>)> {
    rows.into_iter().enumerate().find(|(_, p)| {
        let sum: f32 = p.iter().sum();
        p.len() != k || p.iter().any(|x| !x.is_finite() || *x < 0.0) || (sum - 1.0).abs() > 1e-3
    })
}

pub(super) fn read_weak_stage(dir: &Path, n_b: usize, n_test: usize, k: usize) -> anyhow::Result<WeakStage> {
    let file = dir.join("weak_labels.csv");
    let mut splits = results::read_label_splits(&file)?;
    let (b, keep) = splits.remove("b").unwrap_or_default();
    let (test, _) = splits.remove("test").unwrap_or_default();
    check_rows(&file, "half B", &b, n_b, k)?;
    check_rows(&file, "the test set", &test, n_test, k)?;
    let curves = results::read_csv(&dir.join("curves.csv"))?;
    Ok(WeakStage { b, keep, test, curves })
}

pub(super) fn read_ceiling_stage(dir: &Path, n_test: usize, k: usize) -> anyhow::Result<CeilingStage> {
    let file = dir.join("test_probs.csv");
    let (test, _) = results::read_labels(&file, "test")?;
    check_rows(&file, "the test set", &test, n_test, k)?;
    Ok(CeilingStage { test, curves: results::read_csv(&dir.join("curves.csv"))? })
}

pub(super) fn refs<'a>(data: &'a [Example], idx: &[usize]) -> Vec<&'a Example> {
    idx.iter().map(|&i| &data[i]).collect()
}

pub(super) fn preds(probs: &[Vec<f32>]) -> Vec<usize> {
    probs.iter().map(|p| metrics::argmax(p)).collect()
}

pub(super) fn check_labels(wl: &WeakLabels, n_b: usize, n_test: usize, k: usize, who: &str) -> anyhow::Result<()> {
    if wl.b.len() != n_b || wl.keep.len() != n_b || wl.test.len() != n_test {
        bail!(
            "labeler {who} returned {} labels / {} keep flags for {n_b} examples of B and {} for {n_test} test examples",
            wl.b.len(), wl.keep.len(), wl.test.len()
        );
    }
    let labels: Vec<&Vec<f32>> = wl.b.iter().chain(&wl.test).collect();
    if let Some((i, p)) = first_non_distribution(labels, k) {
        bail!("labeler {who}: label {i} is not a distribution over {k} classes: {p:?}");
    }
    Ok(())
}

pub(super) fn write_weak_labels(path: &Path, data: &Dataset, b: &[usize], wl: &WeakLabels) -> anyhow::Result<()> {
    let test_idx: Vec<usize> = (0..data.test.len()).collect();
    results::write_labels(
        path,
        &[
            LabelSection {
                split: "b",
                index: b,
                label: b.iter().map(|&i| data.train[i].label).collect(),
                probs: &wl.b,
                keep: Some(&wl.keep),
            },
            LabelSection {
                split: "test",
                index: &test_idx,
                label: data.test.iter().map(|e| e.label).collect(),
                probs: &wl.test,
                keep: None,
            },
        ],
    )
}
