//! A results plot as SVG (no dependencies): for each configuration of a preset, bars of the
//! mean test accuracy of the weak supervisor, the weak-to-strong student and the strong ceiling,
//! with each seed's value as a dot and the median PGR written above.

use std::fmt::Write;

use crate::{report::aggregate, results::SummaryRow};

const COLORS: [(&str, &str); 3] = [("weak", "#d95f02"), ("w2s", "#1b9e77"), ("strong", "#7570b3")];

/// `s` escaped for SVG text.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The SVG text of the accuracy plot of `rows`.
pub fn accuracy_svg(rows: &[SummaryRow], title: &str) -> String {
    let groups = aggregate(rows);
    let (left, top, bar_w, gap, plot_h) = (60.0, 60.0, 22.0, 30.0, 260.0);
    let group_w = 3.0 * bar_w + gap;
    let labels: Vec<String> = groups.iter().map(group_label).collect();
    // Long labels (nested specs) are numbered under the bars and listed in full below the plot.
    let numbered = labels.iter().any(|l| l.chars().count() > LABEL_UNDER_BARS);
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as f64;
    let mut width = (left + groups.len().max(1) as f64 * group_w + 140.0).max(420.0);
    let mut height = top + plot_h + 150.0;
    if numbered {
        width = width.max(left + 6.2 * (longest + 4.0));
        height = top + plot_h + 40.0 + 14.0 * labels.len() as f64;
    }
    // The y axis spans [lo, 1], with lo a multiple of 0.1 below every accuracy.
    let min_acc = rows
        .iter()
        .flat_map(|r| [r.weak_acc, r.w2s_acc, r.strong_acc])
        .filter(|x| x.is_finite())
        .fold(1.0f64, f64::min);
    let lo = ((min_acc - 0.05) * 10.0).floor().clamp(0.0, 9.0) / 10.0;
    let y = |acc: f64| top + plot_h * (1.0 - (acc - lo) / (1.0 - lo));
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(s, r#"<text x="{left}" y="16" font-size="14">{}</text>"#, esc(title));
    for (i, (name, color)) in COLORS.iter().enumerate() {
        let x = left + i as f64 * 70.0;
        let _ = writeln!(
            s,
            r#"<rect x="{x}" y="26" width="10" height="10" fill="{color}"/><text x="{}" y="35">{name}</text>"#,
            x + 14.0
        );
    }
    let mut tick = lo;
    while tick <= 1.0001 {
        let ty = y(tick);
        let _ = writeln!(
            s,
            r##"<line x1="{left}" x2="{}" y1="{ty}" y2="{ty}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{tick:.1}</text>"##,
            width - 130.0,
            left - 6.0,
            ty + 4.0
        );
        tick += 0.1;
    }
    let _ = writeln!(
        s,
        r#"<text x="14" y="{}" transform="rotate(-90 14 {})" text-anchor="middle">test accuracy</text>"#,
        top + plot_h / 2.0,
        top + plot_h / 2.0
    );
    for (g, a) in groups.iter().enumerate() {
        let gx = left + gap / 2.0 + g as f64 * group_w;
        let members: Vec<&SummaryRow> = rows
            .iter()
            .filter(|r| {
                (&r.task, &r.weak, &r.strong, &r.labeler, &r.objective, &r.chain)
                    == (&a.task, &a.weak, &a.strong, &a.labeler, &a.objective, &a.chain)
            })
            .collect();
        for (i, (mean, pick)) in [
            (a.weak_acc, (|r: &SummaryRow| r.weak_acc) as fn(&SummaryRow) -> f64),
            (a.w2s_acc, |r: &SummaryRow| r.w2s_acc),
            (a.strong_acc, |r: &SummaryRow| r.strong_acc),
        ]
        .into_iter()
        .enumerate()
        {
            let x = gx + i as f64 * bar_w;
            if mean.is_finite() {
                let h = (top + plot_h - y(mean)).max(0.0);
                let _ = writeln!(
                    s,
                    r#"<rect x="{x}" y="{}" width="{}" height="{h}" fill="{}" opacity="0.8"/>"#,
                    y(mean),
                    bar_w - 3.0,
                    COLORS[i].1
                );
            }
            for r in &members {
                let v = pick(r);
                if v.is_finite() {
                    let _ =
                        writeln!(s, r#"<circle cx="{}" cy="{}" r="2.5" fill="black"/>"#, x + (bar_w - 3.0) / 2.0, y(v));
                }
            }
        }
        let pgr = if a.pgr_median.is_finite() { format!("PGR {:.2}", a.pgr_median) } else { "PGR NaN".into() };
        let _ = writeln!(s, r#"<text x="{}" y="{}" text-anchor="middle">{pgr}</text>"#, gx + 1.5 * bar_w, top - 4.0);
        let lx = gx + 1.5 * bar_w;
        let ly = top + plot_h + 12.0;
        if numbered {
            let _ = writeln!(s, r#"<text x="{lx}" y="{}" text-anchor="middle">{}</text>"#, ly + 2.0, g + 1);
            let _ = writeln!(
                s,
                r#"<text x="{left}" y="{}">{}: {}</text>"#,
                ly + 28.0 + 14.0 * g as f64,
                g + 1,
                esc(&labels[g])
            );
        } else {
            let _ =
                writeln!(s, r#"<text x="{lx}" y="{ly}" transform="rotate(35 {lx} {ly})">{}</text>"#, esc(&labels[g]));
        }
    }
    s.push_str("</svg>\n");
    s
}

/// Labels longer than this are numbered under the bars and written out below the plot.
const LABEL_UNDER_BARS: usize = 40;

/// What distinguishes a configuration on the x axis: labeler, objective and chain.
fn group_label(a: &crate::report::Aggregate) -> String {
    if a.chain.is_empty() {
        format!("{} / {}", a.labeler, a.objective)
    } else {
        format!("{} / {} via {}", a.labeler, a.objective, a.chain)
    }
}

/// The imitation plot: each run's PGR against its weak labels' accuracy, one colour per
/// labeler, circles for the first objective and squares for the others; runs whose gap is not
/// resolved are left out (and counted), PGR is clipped to [-1, 2]. Random errors that a
/// student does not copy sit high; imitable ones low.
pub fn pgr_vs_label_acc_svg(rows: &[SummaryRow], title: &str) -> String {
    const PALETTE: [&str; 6] = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02"];
    let (left, top, w, h) = (60.0, 50.0, 360.0, 260.0);
    // Only PGRs over a resolved gap (2 standard errors above zero): over a gap of noise, PGR is a
    // ratio of noises whose outliers would flatten every other point. Shown within [-1, 2].
    let finite: Vec<&SummaryRow> =
        rows.iter().filter(|r| r.pgr.is_finite() && r.label_acc.is_finite() && r.pgr_reliable).collect();
    let left_out = rows.len() - finite.len();
    let (lo, hi) = (-1.0f64, 2.0f64);
    let (mut x0, mut x1) = (1.0f64, 0.0f64);
    let (mut y0, mut y1) = (0.0f64, 1.0f64);
    for r in &finite {
        (x0, x1) = (x0.min(r.label_acc), x1.max(r.label_acc));
        (y0, y1) = (y0.min(r.pgr.max(lo)), y1.max(r.pgr.min(hi)));
    }
    if x0 >= x1 {
        (x0, x1) = (x0 - 0.05, x1 + 0.05);
    }
    let (x0, x1, y0, y1) = (x0 - 0.02, x1 + 0.02, y0 - 0.1, y1 + 0.1);
    let px = |v: f64| left + w * (v - x0) / (x1 - x0);
    let py = |v: f64| top + h * (1.0 - (v - y0) / (y1 - y0));
    let mut labelers: Vec<&str> = Vec::new();
    let mut objectives: Vec<&str> = Vec::new();
    for r in rows {
        if !labelers.contains(&r.labeler.as_str()) {
            labelers.push(&r.labeler);
        }
        if !objectives.contains(&r.objective.as_str()) {
            objectives.push(&r.objective);
        }
    }
    let mut s = String::new();
    let (width, height) = (left + w + 260.0, top + h + 66.0);
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        s,
        r#"<rect width="100%" height="100%" fill="white"/><text x="{left}" y="20" font-size="14">{}</text>"#,
        esc(title)
    );
    let _ = writeln!(s, r##"<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#999"/>"##);
    for v in [0.0, 1.0] {
        if v > y0 && v < y1 {
            let _ = writeln!(
                s,
                r##"<line x1="{left}" x2="{}" y1="{}" y2="{}" stroke="#bbb" stroke-dasharray="4 3"/><text x="{}" y="{}" text-anchor="end">PGR {v}</text>"##,
                left + w,
                py(v),
                py(v),
                left - 4.0,
                py(v) + 4.0
            );
        }
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">accuracy of the weak labels on B ({x0:.2} to {x1:.2})</text>"#,
        left + w / 2.0,
        top + h + 30.0
    );
    let _ = writeln!(
        s,
        r##"<text x="{left}" y="{}" fill="#555">PGR within [-1, 2]; {left_out} of {} runs left out (no gap clearly above zero, or PGR undefined)</text>"##,
        top + h + 48.0,
        rows.len()
    );
    for r in &finite {
        let color = PALETTE[labelers.iter().position(|l| *l == r.labeler).unwrap_or(0) % PALETTE.len()];
        let (x, y) = (px(r.label_acc), py(r.pgr.clamp(lo, hi)));
        if objectives.first() == Some(&r.objective.as_str()) {
            let _ = writeln!(s, r#"<circle cx="{x}" cy="{y}" r="4" fill="{color}" opacity="0.85"/>"#);
        } else {
            let _ = writeln!(
                s,
                r#"<rect x="{}" y="{}" width="8" height="8" fill="{color}" opacity="0.85"/>"#,
                x - 4.0,
                y - 4.0
            );
        }
    }
    for (i, l) in labelers.iter().enumerate() {
        let y = top + 10.0 + i as f64 * 16.0;
        let _ = writeln!(
            s,
            r#"<circle cx="{}" cy="{}" r="4" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            left + w + 16.0,
            y - 4.0,
            PALETTE[i % PALETTE.len()],
            left + w + 26.0,
            y,
            esc(l)
        );
    }
    let y = top + 20.0 + labelers.len() as f64 * 16.0;
    let shapes: Vec<String> =
        objectives.iter().enumerate().map(|(i, o)| format!("{} {}", if i == 0 { "●" } else { "■" }, o)).collect();
    let _ = writeln!(s, r#"<text x="{}" y="{y}">{}</text>"#, left + w + 16.0, esc(&shapes.join("  ")));
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_one_group_per_configuration() {
        let row = |objective: &str, seed, w2s| SummaryRow::example(objective, seed, 0.6, 0.9, w2s);
        let svg = accuracy_svg(&[row("xent", 0, 0.66), row("xent", 1, 0.72), row("logconf", 0, 0.75)], "t");
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("model / xent") && svg.contains("model / logconf"));
        assert!(svg.contains("PGR 0.30") && svg.contains("PGR 0.50"), "median of 0.2 and 0.4, and 0.5");
        assert_eq!(svg.matches("<circle").count(), 9, "one dot per run and bar");
        let mut unresolved = row("xent", 1, 0.9);
        unresolved.pgr_reliable = false;
        let imitation = pgr_vs_label_acc_svg(&[row("xent", 0, 0.66), row("logconf", 0, 0.75), unresolved], "t");
        assert!(imitation.contains("1 of 3 runs left out"), "{imitation}");
        assert_eq!(imitation.matches("<circle").count(), 1 + 1, "one run as a circle + the legend dot");
        assert_eq!(imitation.matches("<rect x=").count(), 1 + 1, "frame + one run as a square");
    }

    #[test]
    fn long_labels_are_numbered_and_listed_in_full() {
        let long = SummaryRow {
            labeler: format!("ensemble({})", "m".repeat(80)),
            ..SummaryRow::example("xent", 0, 0.6, 0.9, 0.7)
        };
        let svg = accuracy_svg(&[SummaryRow::example("xent", 0, 0.6, 0.9, 0.7), long.clone()], "t");
        assert!(svg.contains(">1: model / xent<") && svg.contains(&format!(">2: {} / xent<", long.labeler)), "{svg}");
        assert!(!svg.contains("rotate(35"), "no rotated labels once they are numbered");
    }
}
