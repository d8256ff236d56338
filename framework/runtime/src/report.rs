//! The terminal table of a preset's results: one line per (task, weak, strong, labeler,
//! objective), aggregated over seeds (mean accuracies, median PGR with its range).
//!
//! Honesty rules: the PGR cell says over how many seeds PGR is defined (`0.33 [0.20, 0.41] 4/5`:
//! a NaN PGR is left out of the median and the range, but not out of the count); the `gap` column
//! is the mean ceiling − supervisor gap with its standard error, and a PGR whose gap is not 2
//! standard errors above zero is marked `?` (undefined, or a ratio over noise), with a footnote.

use std::fmt::Write;

use w2s_core::metrics;

use crate::results::SummaryRow;

/// One line of the table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Aggregate {
    pub task: String,
    pub weak: String,
    pub strong: String,
    pub labeler: String,
    pub objective: String,
    /// The bootstrapping chain's intermediate links (empty: direct).
    pub chain: String,
    pub seeds: usize,
    /// Accuracy of the weak labels on half B.
    pub label_acc: f64,
    pub weak_acc: f64,
    pub strong_acc: f64,
    pub w2s_acc: f64,
    pub pgr_median: f64,
    pub pgr_min: f64,
    pub pgr_max: f64,
    /// Seeds whose PGR is defined (finite).
    pub pgr_defined: usize,
    /// Mean gap strong − weak over seeds, and its standard error: over seeds (sd/√n) when there
    /// are several, else the binomial error of the one run's difference.
    pub gap: f64,
    pub gap_se: f64,
    /// Whether the mean gap is more than 2 standard errors above zero.
    pub gap_resolved: bool,
    pub agreement: f64,
    pub agreement_weak_wrong: f64,
    /// Median PGR on AUROC over the seeds where it is defined (two-class tasks), and their count.
    pub pgr_auroc_median: f64,
    pub pgr_auroc_defined: usize,
    /// Mean expected calibration error of the student.
    pub w2s_ece: f64,
    /// Mean gain in squared error over the supervisor and mean squared misfit, on test.
    pub gain_sq: f64,
    pub misfit_sq_test: f64,
}

/// Group rows by configuration (in first-seen order) and aggregate over seeds.
pub fn aggregate(rows: &[SummaryRow]) -> Vec<Aggregate> {
    let mut keys: Vec<(String, String, String, String, String, String)> = Vec::new();
    for r in rows {
        let k =
            (r.task.clone(), r.weak.clone(), r.strong.clone(), r.labeler.clone(), r.objective.clone(), r.chain.clone());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys.into_iter()
        .map(|k| {
            let g: Vec<&SummaryRow> = rows
                .iter()
                .filter(|r| {
                    (&r.task, &r.weak, &r.strong, &r.labeler, &r.objective, &r.chain)
                        == (&k.0, &k.1, &k.2, &k.3, &k.4, &k.5)
                })
                .collect();
            let col = |f: fn(&SummaryRow) -> f64| g.iter().map(|r| f(r)).collect::<Vec<f64>>();
            let pgrs: Vec<f64> = col(|r| r.pgr).into_iter().filter(|x| x.is_finite()).collect();
            let gaps: Vec<f64> = col(|r| r.strong_acc - r.weak_acc).into_iter().filter(|x| x.is_finite()).collect();
            let gap = metrics::mean(&gaps);
            let gap_se = if gaps.len() >= 2 {
                metrics::standard_error(&gaps)
            } else {
                g.first().map_or(f64::NAN, |r| metrics::gap_se(r.weak_acc_se, r.strong_acc_se))
            };
            Aggregate {
                task: k.0,
                weak: k.1,
                strong: k.2,
                labeler: k.3,
                objective: k.4,
                chain: k.5,
                seeds: g.len(),
                label_acc: metrics::mean(&col(|r| r.label_acc)),
                weak_acc: metrics::mean(&col(|r| r.weak_acc)),
                strong_acc: metrics::mean(&col(|r| r.strong_acc)),
                w2s_acc: metrics::mean(&col(|r| r.w2s_acc)),
                pgr_median: metrics::median(&pgrs),
                pgr_min: pgrs.iter().copied().fold(f64::NAN, f64::min),
                pgr_max: pgrs.iter().copied().fold(f64::NAN, f64::max),
                pgr_defined: pgrs.len(),
                gap,
                gap_se,
                gap_resolved: gap.is_finite() && gap_se.is_finite() && gap > 2.0 * gap_se,
                agreement: metrics::mean(&col(|r| r.agreement)),
                agreement_weak_wrong: metrics::mean(&col(|r| r.agreement_weak_wrong)),
                pgr_auroc_median: metrics::median(&finite(col(|r| r.pgr_auroc))),
                pgr_auroc_defined: finite(col(|r| r.pgr_auroc)).len(),
                w2s_ece: metrics::mean(&finite(col(|r| r.w2s_ece))),
                gain_sq: metrics::mean(&finite(col(|r| r.gain_sq))),
                misfit_sq_test: metrics::mean(&finite(col(|r| r.misfit_sq_test))),
            }
        })
        .collect()
}

fn finite(values: Vec<f64>) -> Vec<f64> {
    values.into_iter().filter(|x| x.is_finite()).collect()
}

/// A figure with 3 decimals, `NaN` when undefined.
pub(crate) fn fmt(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3}")
    } else {
        "NaN".into()
    }
}

/// The PGR cell: `0.33 [0.20, 0.41] 4/5`, with ` ?` when the gap is not resolved.
pub fn pgr_cell(a: &Aggregate) -> String {
    let mark = if a.gap_resolved { "" } else { " ?" };
    format!("{} [{}, {}] {}/{}{mark}", fmt(a.pgr_median), fmt(a.pgr_min), fmt(a.pgr_max), a.pgr_defined, a.seeds)
}

/// The aggregated table as aligned text. The columns beyond accuracy appear only where they apply:
/// PGR on AUROC for two-class tasks, calibration and misfit where the runs recorded them.
pub fn table(rows: &[SummaryRow]) -> String {
    let mut header = vec![
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
        "gap (±SE)",
        "PGR (median [min, max] defined/seeds)",
        "agree",
        "agree|weak wrong",
    ];
    let aggregates = aggregate(rows);
    let with_auroc = aggregates.iter().any(|a| a.pgr_auroc_defined > 0);
    let with_soft = aggregates.iter().any(|a| a.w2s_ece.is_finite());
    // Bootstrapping chains: which links, `direct` for the plain transfer beside them.
    let with_chain = aggregates.iter().any(|a| !a.chain.is_empty());
    if with_chain {
        header.insert(5, "chain");
    }
    if with_auroc {
        header.push("PGR AUROC (median defined/seeds)");
    }
    if with_soft {
        header.extend(["ECE", "gain_sq / misfit_sq"]);
    }
    let unresolved = aggregates.iter().any(|a| !a.gap_resolved);
    let body: Vec<Vec<String>> = aggregates
        .into_iter()
        .map(|a| {
            let chain = if a.chain.is_empty() { "direct".to_string() } else { a.chain.clone() };
            let pgr = pgr_cell(&a);
            let mut cells: Vec<String> = vec![
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
                format!("{} ±{}", fmt(a.gap), fmt(a.gap_se)),
                pgr,
                fmt(a.agreement),
                fmt(a.agreement_weak_wrong),
            ]
            .into_iter()
            .chain(with_auroc.then(|| format!("{} {}/{}", fmt(a.pgr_auroc_median), a.pgr_auroc_defined, a.seeds)))
            .chain(with_soft.then(|| fmt(a.w2s_ece)))
            .chain(with_soft.then(|| format!("{} / {}", fmt(a.gain_sq), fmt(a.misfit_sq_test))))
            .collect();
            if with_chain {
                cells.insert(5, chain);
            }
            cells
        })
        .collect();
    let mut out = aligned(&header, &body);
    if unresolved {
        let _ = writeln!(
            out,
            "? the gap strong - weak is not clearly positive (not 2 standard errors above zero): PGR there is undefined or divides by noise"
        );
    }
    out
}

/// Rows of cells as text in aligned columns under `header`, with a rule below it.
pub fn aligned(header: &[&str], body: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            body.iter().map(|r| r.get(c).map_or(0, |s| s.chars().count())).chain([header[c].len()]).max().unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let line = |cells: Vec<String>, out: &mut String| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        let _ = writeln!(out, "{}", padded.join("  ").trim_end());
    };
    line(header.iter().map(|s| s.to_string()).collect(), &mut out);
    line(widths.iter().map(|w| "-".repeat(*w)).collect(), &mut out);
    for r in body {
        line(r.clone(), &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seed: u64, weak: f64, strong: f64, w2s: f64, pgr: f64) -> SummaryRow {
        SummaryRow { pgr, ..SummaryRow::example("o", seed, weak, strong, w2s) }
    }

    #[test]
    fn pgr_cell_counts_defined_seeds_and_flags_unresolved_gaps() {
        // Three seeds with a clear gap, one with an undefined PGR.
        let rows = vec![row(0, 0.6, 0.8, 0.7, 0.5), row(1, 0.6, 0.8, 0.66, 0.3), row(2, 0.62, 0.62, 0.7, f64::NAN)];
        let a = &aggregate(&rows)[0];
        assert_eq!((a.seeds, a.pgr_defined), (3, 2));
        assert!((a.pgr_median - 0.4).abs() < 1e-12);
        let text = table(&rows);
        assert!(text.contains("0.400 [0.300, 0.500] 2/3"), "{text}");
        // A gap of 0.4 points on 1000 examples is noise: marked, with a footnote.
        let noisy = vec![row(0, 0.600, 0.604, 0.602, 0.5)];
        let text = table(&noisy);
        assert!(!aggregate(&noisy)[0].gap_resolved);
        assert!(text.contains("1/1 ?") && text.contains("not 2 standard errors above zero"), "{text}");
        assert!(!text.contains("AUROC") && !text.contains("ECE"), "no columns for figures no run recorded: {text}");
    }

    #[test]
    fn auroc_and_calibration_columns_appear_where_runs_recorded_them() {
        let with = |seed, pgr_auroc| SummaryRow {
            pgr_auroc,
            w2s_ece: 0.05,
            gain_sq: 0.1,
            misfit_sq_test: 0.02,
            ..row(seed, 0.6, 0.8, 0.7, 0.5)
        };
        let rows = vec![with(0, 0.4), with(1, 0.6), with(2, f64::NAN)];
        let text = table(&rows);
        assert!(text.contains("PGR AUROC") && text.contains("0.500 2/3"), "{text}");
        assert!(text.contains("0.050") && text.contains("0.100 / 0.020"), "{text}");
    }
}
