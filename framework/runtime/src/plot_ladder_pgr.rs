//! The PGR panel of the paper's main figure (Burns et al. 2023, Fig. 3, bottom row): PGR against
//! the strong student, one line per weak supervisor, one row of panels per task, xent and logconf
//! side by side (one column per labeler and objective). A point is the mean PGR (±1 s.e.) over the
//! seeds whose gap is resolved (more than 2 standard errors above zero); a supervisor-student pair
//! without any such seed (the student is not the stronger) draws no point, and the count of those
//! is printed under the panel. PGR 0 (imitation) and 1 (the ceiling) are drawn as guides; PGR is
//! clipped to [-0.5, 1.5] so that one noisy pair does not flatten the rest.

use std::{collections::HashMap, fmt::Write};

use crate::{
    plot::esc,
    plot_ladder::{distinct, line, mean_se, panel_rows, student_labels, supervisor_legend, LINE_COLORS},
    results::SummaryRow,
};

const LO: f64 = -0.5;
const HI: f64 = 1.5;

pub fn ladder_pgr_svg(rows: &[SummaryRow], params: &HashMap<String, u64>, title: &str) -> String {
    let strongs = distinct(rows, |r| r.strong.clone());
    let weaks = distinct(rows, |r| r.weak.clone());
    let tasks = distinct(rows, |r| r.task.clone());
    let columns = distinct(rows, |r| format!("{}\u{1}{}", r.labeler, r.objective));
    let (pw, ph, left, top, gap) = (300.0, 200.0, 60.0, 70.0, 50.0);
    let row_h = ph + 170.0;
    let width = left + columns.len() as f64 * (pw + gap) + 120.0;
    let height = top + tasks.len() as f64 * row_h + 16.0 * weaks.len() as f64 + 20.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(s, r#"<text x="{left}" y="18" font-size="14">{}</text>"#, esc(title));
    let _ = writeln!(
        s,
        r##"<text x="{left}" y="34" fill="#555">PGR (mean ± 1 s.e. over the seeds whose gap is resolved) against the student; 0: imitation, 1: the ceiling</text>"##
    );
    for (t, task) in tasks.iter().enumerate() {
        for (c, column) in columns.iter().enumerate() {
            let (labeler, objective) = column.split_once('\u{1}').unwrap_or((column.as_str(), ""));
            let here = panel_rows(rows, task, labeler, objective);
            if here.is_empty() {
                continue;
            }
            let x0 = left + c as f64 * (pw + gap);
            let top = top + t as f64 * row_h + 24.0;
            if c == 0 {
                let _ = writeln!(
                    s,
                    r#"<text x="{x0}" y="{}" font-size="12" font-weight="bold">{}</text>"#,
                    top - 24.0,
                    esc(task)
                );
            }
            let _ = writeln!(
                s,
                r#"<text x="{x0}" y="{}" font-size="12">labeler {} / objective {}</text>"#,
                top - 8.0,
                esc(labeler),
                esc(objective)
            );
            let x = |i: usize| x0 + 20.0 + (pw - 40.0) * i as f64 / (strongs.len().max(2) - 1) as f64;
            let y = |p: f64| top + ph * (1.0 - (p.clamp(LO, HI) - LO) / (HI - LO));
            for tick in [-0.5, 0.0, 0.5, 1.0, 1.5] {
                let stroke = if tick == 0.0 || tick == 1.0 { "#888" } else { "#ddd" };
                let _ = writeln!(
                    s,
                    r#"<line x1="{x0}" x2="{}" y1="{yy}" y2="{yy}" stroke="{stroke}"/><text x="{}" y="{}" text-anchor="end">{tick:.1}</text>"#,
                    x0 + pw,
                    x0 - 4.0,
                    y(tick) + 4.0,
                    yy = y(tick)
                );
            }
            student_labels(&mut s, &strongs, params, &x, top + ph + 14.0);
            let mut unresolved = 0;
            for (w, weak) in weaks.iter().enumerate() {
                let points: Vec<(f64, f64)> = strongs
                    .iter()
                    .map(|st| {
                        let runs = || here.iter().filter(|r| &r.strong == st && &r.weak == weak);
                        let (m, se, n) = mean_se(runs().filter(|r| r.pgr_reliable).map(|r| r.pgr));
                        if n == 0 && runs().next().is_some() {
                            unresolved += 1;
                        }
                        (m, se)
                    })
                    .collect();
                line(&mut s, &points, &x, &y, LINE_COLORS[w % LINE_COLORS.len()], false);
            }
            let _ = writeln!(
                s,
                r##"<text x="{x0}" y="{}" fill="#555">{unresolved} supervisor-student pair(s) without a resolved gap: no point</text>"##,
                top + ph + 118.0
            );
        }
    }
    supervisor_legend(&mut s, &weaks, left, top + tasks.len() as f64 * row_h + 10.0);
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_per_supervisor_and_no_point_without_a_resolved_gap() {
        let mut rows = Vec::new();
        for (strong, acc) in [("small", 0.7), ("mid", 0.8), ("big", 0.85)] {
            for seed in 0..3 {
                let mut r = SummaryRow::example("xent", seed, 0.6, acc, acc - 0.05);
                (r.strong, r.weak) = (strong.to_string(), "scratch".to_string());
                r.pgr = (r.w2s_acc - r.weak_acc) / (r.strong_acc - r.weak_acc);
                r.pgr_reliable = strong != "small";
                rows.push(r);
            }
        }
        let svg = ladder_pgr_svg(&rows, &HashMap::new(), "t");
        assert_eq!(svg.matches("<polyline").count(), 1, "one supervisor");
        assert_eq!(svg.matches("<circle").count(), 2, "`small` has no resolved gap: no point");
        assert!(svg.contains("1 supervisor-student pair(s) without a resolved gap"));
        assert!(!svg.contains("NaN"));
    }
}
