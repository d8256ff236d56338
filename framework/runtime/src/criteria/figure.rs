//! `criteria.svg`: for each (labeler, objective) of a preset, one bar per stopping criterion: the
//! mean PGR of the student at the evaluation the criterion picks, with ±1 standard error over
//! runs (seeds) as an error bar and each run as a dot. `final` (no early stopping) is the
//! baseline; `oracle` (cheating: reads the test labels) is drawn hatched grey, as an upper bound.

use std::fmt::Write;

use w2s_core::metrics;

use crate::{plot::esc, results::SummaryRow};

use super::CriterionRow;

const PALETTE: [&str; 8] = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#1f78b4"];

/// The SVG text of the criteria figure of `runs` (each run's summary and criterion rows).
pub fn criteria_svg(runs: &[(SummaryRow, Vec<CriterionRow>)], title: &str) -> String {
    let mut groups: Vec<(String, String)> = Vec::new();
    let mut criteria: Vec<(String, bool)> = Vec::new();
    for (s, rows) in runs {
        let g = (s.labeler.clone(), s.objective.clone());
        if !groups.contains(&g) {
            groups.push(g);
        }
        for r in rows {
            if !criteria.iter().any(|(c, _)| *c == r.criterion) {
                criteria.push((r.criterion.clone(), r.cheating));
            }
        }
    }
    // PGR per (group, criterion): one value per run where it was scored and is defined.
    let values = |g: &(String, String), c: &str| -> Vec<f64> {
        runs.iter()
            .filter(|(s, _)| (&s.labeler, &s.objective) == (&g.0, &g.1))
            .flat_map(|(_, rows)| rows.iter().filter(|r| r.criterion == c).map(|r| r.pgr))
            .filter(|p| p.is_finite())
            .collect()
    };
    let all: Vec<f64> = groups.iter().flat_map(|g| criteria.iter().flat_map(move |(c, _)| values(g, c))).collect();
    let lo = all.iter().copied().fold(0.0f64, f64::min);
    let hi = all.iter().copied().fold(0.6f64, f64::max);
    let (lo, hi) = ((lo * 10.0).floor() / 10.0, (hi * 10.0 + 0.5).ceil() / 10.0);
    let (left, top, bar_w, gap, plot_h) = (60.0, 50.0 + 16.0 * criteria.len() as f64, 16.0, 36.0, 240.0);
    let group_w = criteria.len().max(1) as f64 * bar_w + gap;
    let width = (left + groups.len().max(1) as f64 * group_w + 40.0).max(460.0);
    let height = top + plot_h + 120.0;
    let y = |v: f64| top + plot_h * (1.0 - (v - lo) / (hi - lo));
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        s,
        r##"<defs><pattern id="hatch" width="5" height="5" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="5" height="5" fill="#ccc"/><line x1="0" y1="0" x2="0" y2="5" stroke="#888" stroke-width="2"/></pattern></defs>"##
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(s, r#"<text x="{left}" y="16" font-size="14">{}</text>"#, esc(title));
    let fill = |i: usize, cheating: bool| {
        if cheating {
            "url(#hatch)".to_string()
        } else {
            PALETTE[i % PALETTE.len()].to_string()
        }
    };
    for (i, (c, cheating)) in criteria.iter().enumerate() {
        let ly = 36.0 + 16.0 * i as f64;
        let note = if *cheating { " (reads test labels: upper bound)" } else { "" };
        let _ = writeln!(
            s,
            r#"<rect x="{left}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{ly}">{}{note}</text>"#,
            ly - 9.0,
            fill(i, *cheating),
            left + 14.0,
            esc(c)
        );
    }
    let mut tick = lo;
    while tick <= hi + 1e-9 {
        let ty = y(tick);
        let stroke = if tick.abs() < 1e-9 { "#888" } else { "#ddd" };
        let _ = writeln!(
            s,
            r#"<line x1="{left}" x2="{}" y1="{ty}" y2="{ty}" stroke="{stroke}"/><text x="{}" y="{}" text-anchor="end">{tick:.1}</text>"#,
            width - 30.0,
            left - 6.0,
            ty + 4.0
        );
        tick += 0.1;
    }
    let mid = top + plot_h / 2.0;
    let _ = writeln!(
        s,
        r#"<text x="14" y="{mid}" transform="rotate(-90 14 {mid})" text-anchor="middle">PGR at the chosen step (mean ± SE)</text>"#
    );
    for (gi, g) in groups.iter().enumerate() {
        let gx = left + gap / 2.0 + gi as f64 * group_w;
        for (i, (c, cheating)) in criteria.iter().enumerate() {
            let v = values(g, c);
            let (mean, se) = (metrics::mean(&v), metrics::standard_error(&v));
            let x = gx + i as f64 * bar_w;
            let cx = x + (bar_w - 3.0) / 2.0;
            if mean.is_finite() {
                let (y0, y1) = (y(mean.max(0.0)), y(mean.min(0.0)));
                let _ = writeln!(
                    s,
                    r#"<rect x="{x}" y="{y0}" width="{}" height="{}" fill="{}" opacity="0.85"/>"#,
                    bar_w - 3.0,
                    (y1 - y0).max(0.5),
                    fill(i, *cheating)
                );
                if se.is_finite() {
                    let _ = writeln!(
                        s,
                        r#"<line x1="{cx}" x2="{cx}" y1="{}" y2="{}" stroke="black"/>"#,
                        y(mean + se),
                        y(mean - se)
                    );
                }
            }
            for p in &v {
                let _ = writeln!(s, r#"<circle cx="{cx}" cy="{}" r="1.8" fill="black" opacity="0.6"/>"#, y(*p));
            }
        }
        let label = format!("{} / {}", g.0, g.1);
        let (lx, ly) = (gx + criteria.len() as f64 * bar_w / 2.0, top + plot_h + 14.0);
        let _ = writeln!(s, r#"<text x="{lx}" y="{ly}" transform="rotate(20 {lx} {ly})">{}</text>"#, esc(&label));
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(run: &str, criterion: &str, cheating: bool, pgr: f64) -> CriterionRow {
        CriterionRow {
            run_id: run.into(),
            criterion: criterion.into(),
            cheating,
            step: Some(10),
            w2s_acc: 0.7,
            pgr,
            note: String::new(),
        }
    }

    #[test]
    fn one_bar_per_group_and_criterion_with_error_bars_and_the_oracle_hatched() {
        let runs: Vec<(SummaryRow, Vec<CriterionRow>)> = (0..3)
            .map(|seed| {
                let s = SummaryRow::example("xent", seed, 0.6, 0.9, 0.7);
                let rows =
                    vec![row(&s.run_id, "final", false, 0.3 + 0.01 * seed as f64), row(&s.run_id, "oracle", true, 0.5)];
                (s, rows)
            })
            .collect();
        let svg = criteria_svg(&runs, "t");
        assert_eq!(svg.matches("opacity=\"0.85\"").count(), 2, "two bars");
        assert_eq!(svg.matches("fill=\"url(#hatch)\"").count(), 2, "the oracle's bar and legend are hatched");
        assert_eq!(svg.matches("<circle").count(), 6, "a dot per run and criterion");
        assert_eq!(svg.matches("stroke=\"black\"").count(), 2, "an error bar per bar (3 runs each)");
        assert!(svg.contains("upper bound") && svg.contains("model / xent"));
    }
}
