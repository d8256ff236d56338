//! The model-ladder figure of Burns et al. 2023 (their Fig. 3: test accuracy against the strong
//! student's size, one line per weak supervisor, the strong ceiling above), as SVG: one panel per
//! (task, labeler, objective); on the x axis the strong backbones in the preset's order (a ladder
//! lists them by size), labelled with their parameter counts when known; per weak supervisor the
//! mean weak-to-strong accuracy over seeds with ±1 standard-error bars and its own accuracy
//! dotted, and the ceiling (the strong model trained on ground truth, averaged over every run of
//! that student) dashed.

use std::{collections::HashMap, fmt::Write};

use w2s_core::metrics;

use crate::{plot::esc, results::SummaryRow};

pub(crate) const LINE_COLORS: [&str; 8] =
    ["#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"];

/// `values`' finite entries: their mean and standard error (NaN when there are fewer than 2).
pub(crate) fn mean_se(values: impl Iterator<Item = f64>) -> (f64, f64, usize) {
    let v: Vec<f64> = values.filter(|x| x.is_finite()).collect();
    let se = if v.len() >= 2 { metrics::standard_error(&v) } else { f64::NAN };
    (metrics::mean(&v), se, v.len())
}

/// The distinct values of `key` over `rows`, in order of first appearance.
pub(crate) fn distinct(rows: &[SummaryRow], key: impl Fn(&SummaryRow) -> String) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in rows {
        let k = key(r);
        if !out.contains(&k) {
            out.push(k);
        }
    }
    out
}

/// Whether `rows` make a ladder: at least three strong backbones.
pub fn is_ladder(rows: &[SummaryRow]) -> bool {
    distinct(rows, |r| r.strong.clone()).len() >= 3
}

/// A parameter count for an axis label: `22M`, `1.2B`.
pub fn fmt_params(n: u64) -> String {
    match n {
        n if n >= 1_000_000_000 => format!("{:.1}B", n as f64 / 1e9),
        n if n >= 1_000_000 => format!("{:.0}M", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.0}k", n as f64 / 1e3),
        n => n.to_string(),
    }
}

/// The SVG text of the ladder figure of `rows`; `params` gives a strong label's parameter count.
pub fn ladder_svg(rows: &[SummaryRow], params: &HashMap<String, u64>, title: &str) -> String {
    let strongs = distinct(rows, |r| r.strong.clone());
    let weaks = distinct(rows, |r| r.weak.clone());
    // Panels: a row per task, a column per (labeler, objective).
    let tasks = distinct(rows, |r| r.task.clone());
    let columns = distinct(rows, |r| format!("{}\u{1}{}", r.labeler, r.objective));
    let (pw, ph, left, top, gap) = (300.0, 240.0, 60.0, 84.0, 50.0);
    let row_h = ph + 130.0;
    let legend_h = 16.0 * weaks.len() as f64 + 20.0;
    let width = left + columns.len() as f64 * (pw + gap) + 20.0;
    let height = top + tasks.len() as f64 * row_h + legend_h;
    let accs = rows.iter().flat_map(|r| [r.w2s_acc, r.strong_acc, r.weak_acc]).filter(|x| x.is_finite());
    let lo = ((accs.fold(1.0f64, f64::min) - 0.05) * 10.0).floor().clamp(0.0, 9.0) / 10.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(s, r#"<text x="{left}" y="18" font-size="14">{}</text>"#, esc(title));
    let _ = writeln!(
        s,
        r##"<text x="{left}" y="34" fill="#555">test accuracy of the weak-to-strong student (mean ± 1 s.e. over seeds) against the student;</text><text x="{left}" y="48" fill="#555">dashed: the student's ceiling on ground truth; dotted: each supervisor's own accuracy</text>"##
    );
    let panels = tasks
        .iter()
        .enumerate()
        .flat_map(|(t, task)| columns.iter().enumerate().map(move |(c, col)| (t, task, c, col)));
    for (t, task, c, column) in panels {
        let (labeler, objective) = column.split_once('\u{1}').unwrap_or((column.as_str(), ""));
        let here = panel_rows(rows, task, labeler, objective);
        if here.is_empty() {
            continue;
        }
        let x0 = left + c as f64 * (pw + gap);
        let top = top + t as f64 * row_h + 20.0;
        if c == 0 {
            let _ = writeln!(
                s,
                r#"<text x="{x0}" y="{}" font-size="12" font-weight="bold">{}</text>"#,
                top - 26.0,
                esc(task)
            );
        }
        let x = |i: usize| x0 + 20.0 + (pw - 40.0) * i as f64 / (strongs.len().max(2) - 1) as f64;
        let y = |acc: f64| top + ph * (1.0 - (acc - lo) / (1.0 - lo));
        let _ = writeln!(
            s,
            r#"<text x="{x0}" y="{}" font-size="12">labeler {} / objective {}</text>"#,
            top - 8.0,
            esc(labeler),
            esc(objective)
        );
        let mut tick = lo;
        while tick <= 1.0001 {
            let _ = writeln!(
                s,
                r##"<line x1="{x0}" x2="{}" y1="{y}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{tick:.1}</text>"##,
                x0 + pw,
                x0 - 4.0,
                y(tick) + 4.0,
                y = y(tick)
            );
            tick += 0.1;
        }
        student_labels(&mut s, &strongs, params, &x, top + ph + 14.0);
        // The ceiling: every run of this student, whichever its supervisor.
        let ceiling: Vec<(f64, f64)> = strongs
            .iter()
            .map(|st| {
                let (m, se, _) = mean_se(here.iter().filter(|r| &r.strong == st).map(|r| r.strong_acc));
                (m, se)
            })
            .collect();
        line(&mut s, &ceiling, &x, &y, "black", true);
        for (w, weak) in weaks.iter().enumerate() {
            let points: Vec<(f64, f64)> = strongs
                .iter()
                .map(|st| {
                    let (m, se, _) =
                        mean_se(here.iter().filter(|r| &r.strong == st && &r.weak == weak).map(|r| r.w2s_acc));
                    (m, se)
                })
                .collect();
            let color = LINE_COLORS[w % LINE_COLORS.len()];
            line(&mut s, &points, &x, &y, color, false);
            // The supervisor's own test accuracy, dotted across the panel.
            let (own, _, n) = mean_se(here.iter().filter(|r| &r.weak == weak).map(|r| r.weak_acc));
            if n > 0 && own.is_finite() {
                let _ = writeln!(
                    s,
                    r#"<line x1="{x0}" x2="{}" y1="{yy}" y2="{yy}" stroke="{color}" stroke-dasharray="1,3" stroke-width="1.5"/>"#,
                    x0 + pw,
                    yy = y(own)
                );
            }
        }
    }
    let ly = top + tasks.len() as f64 * row_h + 10.0;
    supervisor_legend(&mut s, &weaks, left, ly);
    let yy = ly + 16.0 * weaks.len() as f64;
    let _ = writeln!(
        s,
        r#"<line x1="{left}" x2="{}" y1="{yy}" y2="{yy}" stroke="black" stroke-dasharray="5,3"/><text x="{}" y="{}">strong ceiling (ground-truth labels)</text>"#,
        left + 24.0,
        left + 30.0,
        yy + 4.0
    );
    s.push_str("</svg>\n");
    s
}

/// The rows of one panel: a task, labeler and objective.
pub(crate) fn panel_rows<'a>(
    rows: &'a [SummaryRow],
    task: &str,
    labeler: &str,
    objective: &str,
) -> Vec<&'a SummaryRow> {
    rows.iter()
        .filter(|r| (r.task.as_str(), r.labeler.as_str(), r.objective.as_str()) == (task, labeler, objective))
        .collect()
}

/// The students under a panel's x axis at height `y`, with their parameter counts when known.
pub(crate) fn student_labels(
    s: &mut String,
    strongs: &[String],
    params: &HashMap<String, u64>,
    x: &dyn Fn(usize) -> f64,
    y: f64,
) {
    for (i, strong) in strongs.iter().enumerate() {
        let label = match params.get(strong) {
            Some(&n) => format!("{strong} ({})", fmt_params(n)),
            None => strong.clone(),
        };
        let lx = x(i);
        let _ = writeln!(s, r#"<text x="{lx}" y="{y}" transform="rotate(25 {lx} {y})">{}</text>"#, esc(&label));
    }
}

/// A line of each supervisor's colour with its name, one per 16 px from `y` down.
pub(crate) fn supervisor_legend(s: &mut String, weaks: &[String], left: f64, y: f64) {
    for (w, weak) in weaks.iter().enumerate() {
        let yy = y + 16.0 * w as f64;
        let color = LINE_COLORS[w % LINE_COLORS.len()];
        let _ = writeln!(
            s,
            r#"<line x1="{left}" x2="{}" y1="{yy}" y2="{yy}" stroke="{color}" stroke-width="2"/><text x="{}" y="{}">weak: {}</text>"#,
            left + 24.0,
            left + 30.0,
            yy + 4.0,
            esc(weak)
        );
    }
}

/// A polyline through the finite `(mean, se)` points with error bars.
pub(crate) fn line(
    s: &mut String,
    points: &[(f64, f64)],
    x: &dyn Fn(usize) -> f64,
    y: &dyn Fn(f64) -> f64,
    color: &str,
    dashed: bool,
) {
    let dash = if dashed { r#" stroke-dasharray="5,3""# } else { "" };
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .filter(|(_, p)| p.0.is_finite())
        .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.0)))
        .collect();
    if path.len() >= 2 {
        let _ = writeln!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"{dash}/>"#,
            path.join(" ")
        );
    }
    for (i, &(m, se)) in points.iter().enumerate() {
        if !m.is_finite() {
            continue;
        }
        if se.is_finite() {
            let _ = writeln!(
                s,
                r#"<line x1="{cx}" x2="{cx}" y1="{}" y2="{}" stroke="{color}"/>"#,
                y(m - se),
                y(m + se),
                cx = x(i)
            );
        }
        let _ = writeln!(s, r#"<circle cx="{}" cy="{}" r="3" fill="{color}"/>"#, x(i), y(m));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_supervisor_over_the_students_with_their_sizes() {
        let mut rows = Vec::new();
        for (strong, acc) in [("small", 0.7), ("mid", 0.8), ("big", 0.85)] {
            for (weak, w2s) in [("scratch", acc - 0.1), ("tiny-probe", acc - 0.05)] {
                for seed in 0..3 {
                    let mut r = SummaryRow::example("xent", seed, 0.6, acc, w2s + 0.01 * seed as f64);
                    (r.strong, r.weak) = (strong.to_string(), weak.to_string());
                    rows.push(r);
                }
            }
        }
        assert!(is_ladder(&rows) && !is_ladder(&rows[..6]));
        let params = HashMap::from([("small".to_string(), 22_700_000u64), ("big".to_string(), 1_200_000_000)]);
        let svg = ladder_svg(&rows, &params, "t");
        assert!(
            svg.contains("small (23M)") && svg.contains("big (1.2B)") && svg.contains(">mid<"),
            "sizes on the axis"
        );
        // Two supervisors' lines and the dashed ceiling; an error bar per point (3 seeds).
        assert_eq!(svg.matches("<polyline").count(), 3);
        assert!(svg.contains("weak: scratch") && svg.contains("weak: tiny-probe") && svg.contains("stroke-dasharray"));
        assert!(svg.matches("<circle").count() >= 9);
        // A supervisor with no finite accuracy draws no line (NaN is never plotted).
        for r in rows.iter_mut().filter(|r| r.weak == "scratch") {
            r.w2s_acc = f64::NAN;
        }
        let svg = ladder_svg(&rows, &params, "t");
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(!svg.contains("NaN"));
    }
}
