//! Results on disk: atomic writes (temporary file + rename, so an interrupted or failed run never
//! leaves a half-written file or overwrites a finished one), the summary row, and label files.

use std::{collections::BTreeMap, path::Path};

use anyhow::Context;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// The marker in the names of temporary files: `.NAME.tmp-PID-N`.
const TMP_MARKER: &str = ".tmp-";

/// Write `bytes` to `path` through a temporary file in the same folder, fsync and a rename (see
/// [`write_atomic_with`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_atomic_with(path, |tmp| {
        use std::io::Write;
        let mut f = std::fs::File::create(tmp)?;
        f.write_all(bytes)?;
        Ok(())
    })
}

/// The one atomic writer of w2s: `write` fills a temporary file next to `path`, which is then
/// fsynced and renamed over `path`, so that a reader sees the old file or the whole new one, never
/// a part. The temporary name is unique per process and call (`.NAME.tmp-PID-N`), so neither two
/// processes nor two threads write into each other's file; on failure it is removed, and one left
/// behind by a crash is removed by [`remove_stale_temporaries`].
pub fn write_atomic_with(path: &Path, write: impl FnOnce(&Path) -> anyhow::Result<()>) -> anyhow::Result<()> {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating folder {}", dir.display()))?;
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(
        ".{}{TMP_MARKER}{}-{n}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let result = write(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))
        .and_then(|_| {
            std::fs::File::open(&tmp).and_then(|f| f.sync_all()).with_context(|| format!("syncing {}", tmp.display()))
        })
        .and_then(|_| {
            std::fs::rename(&tmp, path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Whether a process with this id is running (on Linux, through `/proc`).
fn process_alive(pid: u32) -> bool {
    pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists()
}

/// Remove temporary files (`.NAME.tmp-PID[-N]`) that a process which is no longer running left
/// in `dir` or its sub-folders (two levels: run folders and `stages/*`). Returns how many.
pub fn remove_stale_temporaries(dir: &Path) -> usize {
    fn walk(dir: &Path, depth: usize, removed: &mut usize) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            if path.is_dir() {
                if depth > 0 {
                    walk(&path, depth - 1, removed);
                }
                continue;
            }
            let Some(pos) = name.find(TMP_MARKER) else { continue };
            let pid = name[pos + TMP_MARKER.len()..].split('-').next().and_then(|p| p.parse::<u32>().ok());
            if name.starts_with('.') && pid.is_some_and(|p| !process_alive(p)) && std::fs::remove_file(&path).is_ok() {
                *removed += 1;
            }
        }
    }
    let mut removed = 0;
    walk(dir, 2, &mut removed);
    if removed > 0 {
        tracing::info!("removed {removed} temporary file(s) left in {} by an interrupted run", dir.display());
    }
    removed
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
    /// Why `pgr` is NaN, or why it is unreliable, when it is.
    pub pgr_note: String,
    /// False when the gap strong − weak is within 2 standard errors of zero: PGR is then a ratio
    /// of noise and says little (see [`crate::metrics::gap_is_resolved`]).
    pub pgr_reliable: bool,
    pub agreement: f64,
    pub agreement_weak_correct: f64,
    pub agreement_weak_wrong: f64,
    /// Accuracy of the weak labels on half B, against ground truth (kept examples only).
    pub label_acc: f64,
    /// Fraction of half B the labeler kept.
    pub label_coverage: f64,
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
        let (pgr, note) = crate::metrics::pgr(weak, strong, w2s);
        SummaryRow {
            task: "t".into(),
            weak: "w".into(),
            strong: "s".into(),
            labeler: "model".into(),
            objective: objective.into(),
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
    fn atomic_writes_from_many_threads_leave_one_whole_file_and_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("summary.csv");
        std::thread::scope(|s| {
            for t in 0..8u8 {
                let f = &f;
                s.spawn(move || {
                    for _ in 0..20 {
                        write_atomic(f, &vec![b'a' + t; 10_000]).unwrap();
                    }
                });
            }
        });
        let bytes = std::fs::read(&f).unwrap();
        assert_eq!(bytes.len(), 10_000);
        assert!(bytes.iter().all(|&b| b == bytes[0]), "one writer's whole file");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["summary.csv"]);
        // A writer that fails leaves nothing behind.
        assert!(write_atomic_with(&f, |_| anyhow::bail!("disk full")).is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
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
