//! The terminal table of a preset's results: one line per (task, weak, strong, labeler,
//! objective), aggregated over seeds (mean accuracies, median PGR with its range).

use std::fmt::Write;

use crate::{metrics, results::SummaryRow};

/// One line of the table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Aggregate {
    pub task: String,
    pub weak: String,
    pub strong: String,
    pub labeler: String,
    pub objective: String,
    pub seeds: usize,
    /// Accuracy of the weak labels on half B.
    pub label_acc: f64,
    pub weak_acc: f64,
    pub strong_acc: f64,
    pub w2s_acc: f64,
    pub pgr_median: f64,
    pub pgr_min: f64,
    pub pgr_max: f64,
    pub agreement: f64,
    pub agreement_weak_wrong: f64,
}

/// Group rows by configuration (in first-seen order) and aggregate over seeds.
pub fn aggregate(rows: &[SummaryRow]) -> Vec<Aggregate> {
    let mut keys: Vec<(String, String, String, String, String)> = Vec::new();
    for r in rows {
        let k = (r.task.clone(), r.weak.clone(), r.strong.clone(), r.labeler.clone(), r.objective.clone());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys.into_iter()
        .map(|k| {
            let g: Vec<&SummaryRow> = rows
                .iter()
                .filter(|r| (&r.task, &r.weak, &r.strong, &r.labeler, &r.objective) == (&k.0, &k.1, &k.2, &k.3, &k.4))
                .collect();
            let col = |f: fn(&SummaryRow) -> f64| g.iter().map(|r| f(r)).collect::<Vec<f64>>();
            let pgrs: Vec<f64> = col(|r| r.pgr).into_iter().filter(|x| x.is_finite()).collect();
            Aggregate {
                task: k.0,
                weak: k.1,
                strong: k.2,
                labeler: k.3,
                objective: k.4,
                seeds: g.len(),
                label_acc: metrics::mean(&col(|r| r.label_acc)),
                weak_acc: metrics::mean(&col(|r| r.weak_acc)),
                strong_acc: metrics::mean(&col(|r| r.strong_acc)),
                w2s_acc: metrics::mean(&col(|r| r.w2s_acc)),
                pgr_median: metrics::median(&pgrs),
                pgr_min: pgrs.iter().copied().fold(f64::NAN, f64::min),
                pgr_max: pgrs.iter().copied().fold(f64::NAN, f64::max),
                agreement: metrics::mean(&col(|r| r.agreement)),
                agreement_weak_wrong: metrics::mean(&col(|r| r.agreement_weak_wrong)),
            }
        })
        .collect()
}

fn fmt(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3}")
    } else {
        "NaN".into()
    }
}

/// The aggregated table as aligned text.
pub fn table(rows: &[SummaryRow]) -> String {
    let header = [
        "task",
        "weak",
        "strong",
        "labeler",
        "objective",
        "seeds",
        "label_acc",
        "weak_acc",
        "strong_acc",
        "w2s_acc",
        "PGR (median [min, max])",
        "agree",
        "agree|weak wrong",
    ];
    let body: Vec<Vec<String>> = aggregate(rows)
        .into_iter()
        .map(|a| {
            vec![
                a.task,
                a.weak,
                a.strong,
                a.labeler,
                a.objective,
                a.seeds.to_string(),
                fmt(a.label_acc),
                fmt(a.weak_acc),
                fmt(a.strong_acc),
                fmt(a.w2s_acc),
                format!("{} [{}, {}]", fmt(a.pgr_median), fmt(a.pgr_min), fmt(a.pgr_max)),
                fmt(a.agreement),
                fmt(a.agreement_weak_wrong),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|c| body.iter().map(|r| r[c].chars().count()).chain([header[c].len()]).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    let line = |cells: Vec<String>, out: &mut String| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        let _ = writeln!(out, "{}", padded.join("  ").trim_end());
    };
    line(header.iter().map(|s| s.to_string()).collect(), &mut out);
    line(widths.iter().map(|w| "-".repeat(*w)).collect(), &mut out);
    for r in body {
        line(r, &mut out);
    }
    out
}
