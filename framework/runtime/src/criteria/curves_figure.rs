//! `stopping-curves.svg`: the student's test accuracy over training, one panel per (labeler,
//! objective), one thin line per run (seed), and on each line the step every stopping criterion
//! picks, as a marker of the criterion's colour; `oracle` (cheating: it reads the test labels)
//! is a hollow marker. The supervisor's mean test accuracy is dotted, the ceiling's dashed, so
//! a student that peaks and then falls towards its supervisor shows as such (the talk's "peaks
//! early, then over-fits the supervisor's errors").

use std::fmt::Write;

use crate::{plot::esc, results::SummaryRow};

use super::CriterionRow;

const PALETTE: [&str; 8] = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#1f78b4"];

/// One run: its summary, its criteria's choices and its student's (step, test accuracy) curve.
pub struct RunCurve<'a> {
    pub summary: &'a SummaryRow,
    pub criteria: &'a [CriterionRow],
    pub curve: Vec<(usize, f64)>,
}

/// The SVG text of the figure; `None` when no run has a curve of two points or more.
pub fn stopping_curves_svg(runs: &[RunCurve<'_>], title: &str) -> Option<String> {
    let runs: Vec<&RunCurve<'_>> = runs.iter().filter(|r| r.curve.len() >= 2).collect();
    if runs.is_empty() {
        return None;
    }
    let mut groups: Vec<(String, String)> = Vec::new();
    let mut criteria: Vec<(String, bool)> = Vec::new();
    for r in &runs {
        let g = (r.summary.labeler.clone(), r.summary.objective.clone());
        if !groups.contains(&g) {
            groups.push(g);
        }
        for c in r.criteria {
            if !criteria.iter().any(|(n, _)| *n == c.criterion) {
                criteria.push((c.criterion.clone(), c.cheating));
            }
        }
    }
    let accs = runs.iter().flat_map(|r| r.curve.iter().map(|p| p.1).chain([r.summary.weak_acc, r.summary.strong_acc]));
    let (lo, hi) = accs.filter(|a| a.is_finite()).fold((1.0f64, 0.0f64), |(l, h), a| (l.min(a), h.max(a)));
    let (lo, hi) = ((lo * 20.0).floor() / 20.0, ((hi * 20.0).ceil() / 20.0).max(lo + 0.05));
    let max_step = runs.iter().flat_map(|r| r.curve.iter().map(|p| p.0)).max().unwrap_or(1).max(1) as f64;
    let (pw, ph, left, top, gap) = (320.0, 220.0, 60.0, 58.0 + 16.0 * criteria.len() as f64, 40.0);
    let width = left + groups.len() as f64 * (pw + gap) + 20.0;
    let height = top + ph + 70.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(s, r#"<text x="{left}" y="16" font-size="14">{}</text>"#, esc(title));
    let _ = writeln!(
        s,
        r##"<text x="{left}" y="32" fill="#555">thin lines: one run (seed) each; dotted: supervisor, dashed: ceiling (means over runs)</text>"##
    );
    for (i, (c, cheating)) in criteria.iter().enumerate() {
        let ly = 48.0 + 16.0 * i as f64;
        let colour = PALETTE[i % PALETTE.len()];
        let fill = if *cheating { "white" } else { colour };
        let note = if *cheating { " (CHEATING: reads test labels)" } else { "" };
        let _ = writeln!(
            s,
            r#"<circle cx="{}" cy="{}" r="4" fill="{fill}" stroke="{colour}" stroke-width="2"/><text x="{}" y="{ly}">{}{note}</text>"#,
            left + 5.0,
            ly - 4.0,
            left + 14.0,
            esc(c)
        );
    }
    for (gi, g) in groups.iter().enumerate() {
        let x0 = left + gi as f64 * (pw + gap);
        let x = |step: f64| x0 + pw * step / max_step;
        let y = |acc: f64| top + ph * (1.0 - (acc - lo) / (hi - lo));
        let _ = writeln!(s, r##"<rect x="{x0}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>"##);
        let _ = writeln!(s, r#"<text x="{x0}" y="{}" font-size="12">{} / {}</text>"#, top - 6.0, esc(&g.0), esc(&g.1));
        let mut tick = lo;
        while tick <= hi + 1e-9 {
            let ty = y(tick);
            let _ = writeln!(s, r##"<line x1="{x0}" y1="{ty}" x2="{}" y2="{ty}" stroke="#eee"/>"##, x0 + pw);
            if gi == 0 {
                let _ = writeln!(s, r#"<text x="{}" y="{}" text-anchor="end">{tick:.2}</text>"#, x0 - 4.0, ty + 4.0);
            }
            tick += 0.05;
        }
        for k in 0..=4 {
            let step = max_step * k as f64 / 4.0;
            let _ =
                writeln!(s, r#"<text x="{}" y="{}" text-anchor="middle">{step:.0}</text>"#, x(step), top + ph + 14.0);
        }
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">training step</text>"#,
            x0 + pw / 2.0,
            top + ph + 30.0
        );
        let here: Vec<&&RunCurve<'_>> =
            runs.iter().filter(|r| (&r.summary.labeler, &r.summary.objective) == (&g.0, &g.1)).collect();
        let mean =
            |f: fn(&SummaryRow) -> f64| here.iter().map(|r| f(r.summary)).sum::<f64>() / here.len().max(1) as f64;
        for (acc, dash) in [(mean(|r| r.weak_acc), "2,3"), (mean(|r| r.strong_acc), "6,4")] {
            let _ = writeln!(
                s,
                r##"<line x1="{x0}" y1="{0}" x2="{1}" y2="{0}" stroke="#444" stroke-dasharray="{dash}"/>"##,
                y(acc),
                x0 + pw
            );
        }
        for r in &here {
            let pts: Vec<String> = r.curve.iter().map(|&(st, a)| format!("{:.1},{:.1}", x(st as f64), y(a))).collect();
            let _ =
                writeln!(s, r##"<polyline points="{}" fill="none" stroke="#999" stroke-width="1"/>"##, pts.join(" "));
            for (ci, (c, cheating)) in criteria.iter().enumerate() {
                let Some(step) = r.criteria.iter().find(|x| x.criterion == *c).and_then(|x| x.step) else { continue };
                let Some(&(_, acc)) = r.curve.iter().find(|p| p.0 == step) else { continue };
                let colour = PALETTE[ci % PALETTE.len()];
                let fill = if *cheating { "white" } else { colour };
                // Criteria that pick the same step would hide each other: offset each a little.
                let dx = (ci as f64 - criteria.len() as f64 / 2.0) * 2.0;
                let _ = writeln!(
                    s,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{fill}" stroke="{colour}" stroke-width="1.5" fill-opacity="0.85"/>"#,
                    x(step as f64) + dx,
                    y(acc)
                );
            }
        }
    }
    let _ = writeln!(
        s,
        r#"<text x="16" y="{}" transform="rotate(-90 16 {})" text-anchor="middle">student test accuracy</text>"#,
        top + ph / 2.0,
        top + ph / 2.0
    );
    s.push_str("</svg>\n");
    Some(s)
}
