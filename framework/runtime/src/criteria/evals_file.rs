//! `evals.csv`: what a student's training recorded at every evaluation, so that stopping criteria
//! can be scored after the fact. Columns `step, split, index, label, p0..p{k-1}`, one row per
//! example and evaluation:
//! - `test`: the student's test distribution at `step` (`label`: the true test label);
//! - `weak_val`: its distribution on the held-out weak-labelled slice of B at `step` (`index`:
//!   the example's position in B, `label`: its true label, never shown to a criterion unless it
//!   reads ground truth);
//! - `weak_val_target`: the slice's weak labels (`step` 0).

use std::{collections::BTreeMap, path::Path};

use anyhow::{bail, Context};
use w2s_core::{
    atomic_file::write_atomic,
    stopping::{EvalLog, WeakVal},
};

/// The held-out slice as written: positions in B, true labels and weak labels.
pub struct SliceInfo<'a> {
    pub index: &'a [usize],
    pub labels: &'a [usize],
}

/// Write the log (test labels in `test_labels`; `slice` describes `log.weak_val` if any).
pub fn write(path: &Path, log: &EvalLog, test_labels: &[usize], slice: Option<SliceInfo<'_>>) -> anyhow::Result<()> {
    let k = log.test.first().and_then(|t| t.first()).map_or(0, |p| p.len());
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["step".to_string(), "split".into(), "index".into(), "label".into()];
    header.extend((0..k).map(|c| format!("p{c}")));
    w.write_record(&header)?;
    let mut row = |step: usize, split: &str, index: usize, label: usize, p: &[f32]| -> anyhow::Result<()> {
        let mut rec = vec![step.to_string(), split.to_string(), index.to_string(), label.to_string()];
        rec.extend(p.iter().map(|x| x.to_string()));
        Ok(w.write_record(&rec)?)
    };
    if let (Some(v), Some(s)) = (&log.weak_val, &slice) {
        for (i, t) in v.targets.iter().enumerate() {
            row(0, "weak_val_target", s.index[i], s.labels[i], t)?;
        }
    }
    for (e, &step) in log.steps.iter().enumerate() {
        for (i, p) in log.test[e].iter().enumerate() {
            row(step, "test", i, test_labels[i], p)?;
        }
        if let (Some(v), Some(s)) = (&log.weak_val, &slice) {
            for (i, p) in v.preds[e].iter().enumerate() {
                row(step, "weak_val", s.index[i], s.labels[i], p)?;
            }
        }
    }
    write_atomic(path, &w.into_inner()?)
}

/// Read a log back: the log and the test labels. Errors name the file and line.
pub fn read(path: &Path) -> anyhow::Result<(EvalLog, Vec<usize>)> {
    let mut r = csv::Reader::from_path(path).with_context(|| format!("opening {}", path.display()))?;
    let header = r.headers().with_context(|| format!("reading the header of {}", path.display()))?.clone();
    let k = header.len().saturating_sub(4);
    let expected: Vec<String> = ["step", "split", "index", "label"]
        .into_iter()
        .map(String::from)
        .chain((0..k).map(|c| format!("p{c}")))
        .collect();
    if k == 0 || header.iter().ne(expected.iter().map(|s| s.as_str())) {
        bail!("{}: header {:?} is not an evaluation log's (step, split, index, label, p0..)", path.display(), header);
    }
    let mut test: BTreeMap<usize, Vec<Vec<f32>>> = BTreeMap::new();
    let mut watch: BTreeMap<usize, Vec<Vec<f32>>> = BTreeMap::new();
    let (mut targets, mut labels) = (Vec::new(), Vec::new());
    for (n, rec) in r.records().enumerate() {
        let line = n + 2;
        let rec = rec.with_context(|| format!("{} line {line}", path.display()))?;
        let num = |c: usize| -> anyhow::Result<usize> {
            rec[c]
                .parse()
                .with_context(|| format!("{} line {line}: column {} is not a count", path.display(), &header[c]))
        };
        let p: Vec<f32> = (4..4 + k)
            .map(|c| rec[c].parse::<f32>())
            .collect::<Result<_, _>>()
            .with_context(|| format!("{} line {line}: a probability is not a number", path.display()))?;
        let step = num(0)?;
        match &rec[1] {
            "test" => {
                // The labels are those of the first evaluation's rows.
                if test.keys().next().is_none_or(|&first| first == step) {
                    labels.push(num(3)?);
                }
                test.entry(step).or_default().push(p);
            }
            "weak_val" => watch.entry(step).or_default().push(p),
            "weak_val_target" => targets.push(p),
            other => bail!("{} line {line}: unknown split `{other}` (test, weak_val, weak_val_target)", path.display()),
        }
    }
    let steps: Vec<usize> = test.keys().copied().collect();
    let test: Vec<Vec<Vec<f32>>> = test.into_values().collect();
    if let Some(bad) = test.iter().position(|t| t.len() != labels.len()) {
        bail!(
            "{}: step {} has {} test rows, the first step {}",
            path.display(),
            steps[bad],
            test[bad].len(),
            labels.len()
        );
    }
    let weak_val = if targets.is_empty() {
        None
    } else {
        if watch.keys().ne(steps.iter()) || watch.values().any(|w| w.len() != targets.len()) {
            bail!("{}: the weak-labelled slice is not recorded at every step, whole", path.display());
        }
        Some(WeakVal { targets, preds: watch.into_values().collect() })
    };
    Ok((EvalLog { steps, test, weak_val }, labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_reads_back_as_written() {
        let log = EvalLog {
            steps: vec![5, 10],
            test: vec![vec![vec![0.25, 0.75], vec![0.5, 0.5]], vec![vec![0.125, 0.875], vec![0.625, 0.375]]],
            weak_val: Some(WeakVal {
                targets: vec![vec![1.0, 0.0]],
                preds: vec![vec![vec![0.5, 0.5]], vec![vec![0.75, 0.25]]],
            }),
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("evals.csv");
        write(&path, &log, &[1, 0], Some(SliceInfo { index: &[7], labels: &[0] })).unwrap();
        let (back, labels) = read(&path).unwrap();
        assert_eq!(back, log);
        assert_eq!(labels, [1, 0]);
        let plain = EvalLog { weak_val: None, ..log };
        write(&path, &plain, &[1, 0], None).unwrap();
        assert_eq!(read(&path).unwrap().0, plain);
        std::fs::write(&path, "step,split,index,label,p0,p1\n5,test,0,1,0.5,x\n").unwrap();
        let e = format!("{:#}", read(&path).unwrap_err());
        assert!(e.contains("line 2") && e.contains("not a number"), "{e}");
    }
}
