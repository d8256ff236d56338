//! Results on disk: atomic writes (temporary file + rename, so an interrupted or failed run never
//! leaves a half-written file or overwrites a finished one), the summary row, and label files.

use std::{collections::BTreeMap, path::Path};

use anyhow::Context;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// Write `bytes` to `path` through a temporary file in the same folder and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating folder {}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    Ok(())
}

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
    let probe = dir.join(".w2s-write-probe");
    std::fs::create_dir_all(dir)
        .and_then(|_| std::fs::write(&probe, b"ok"))
        .and_then(|_| std::fs::remove_file(&probe))
        .with_context(|| format!("output folder {} is not writable; choose another with --out DIR", dir.display()))
}

/// One run's results: the row of `summary.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    pub task: String,
    pub weak: String,
    pub strong: String,
    pub labeler: String,
    pub objective: String,
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
    /// Why `pgr` is NaN, when it is.
    pub pgr_note: String,
    pub agreement: f64,
    pub agreement_weak_correct: f64,
    pub agreement_weak_wrong: f64,
    /// Accuracy of the weak labels on half B, against ground truth (kept examples only).
    pub label_acc: f64,
    /// Fraction of half B the labeler kept.
    pub label_coverage: f64,
    pub seconds: f64,
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
            rec.push(s.keep.map_or(true, |k| k[i]).to_string());
            w.write_record(&rec)?;
        }
    }
    write_atomic(path, &w.into_inner()?)
}

/// Read soft labels of one split back: (probabilities, keep flags), in file order.
pub fn read_labels(path: &Path, split: &str) -> anyhow::Result<(Vec<Vec<f32>>, Vec<bool>)> {
    Ok(read_label_splits(path)?.remove(split).unwrap_or_default())
}

/// Read every split of a label file in one pass: split name → (probabilities, keep flags).
pub fn read_label_splits(path: &Path) -> anyhow::Result<BTreeMap<String, (Vec<Vec<f32>>, Vec<bool>)>> {
    let mut r = csv::Reader::from_path(path).with_context(|| format!("opening {}", path.display()))?;
    let header = r.headers()?.clone();
    let k = header.iter().filter(|h| h.starts_with('p')).count();
    let mut splits: BTreeMap<String, (Vec<Vec<f32>>, Vec<bool>)> = BTreeMap::new();
    for (line, rec) in r.records().enumerate() {
        let rec = rec.with_context(|| format!("reading {}", path.display()))?;
        let parse = |i: usize| -> anyhow::Result<f32> {
            rec[i]
                .parse()
                .with_context(|| format!("{} line {}: column {} is not a number", path.display(), line + 2, i + 1))
        };
        let probs = (3..3 + k).map(parse).collect::<anyhow::Result<Vec<f32>>>()?;
        let entry = splits.entry(rec[0].to_string()).or_default();
        entry.0.push(probs);
        entry.1.push(&rec[3 + k] == "true");
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
    fn unwritable_output_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"x").unwrap();
        let err = format!("{:#}", ensure_writable(&file.join("out")).unwrap_err());
        assert!(err.contains("not writable") && err.contains("a-file"), "{err}");
    }
}
