//! The prompting figure (Burns et al. 2023, their Fig. 6 in spirit): for one strong model, test
//! accuracy of zero-shot prompting, k-shot prompting with weak and with gold labels on the shots,
//! fine-tuning on the weak labels (the weak-to-strong student) and on gold labels (the ceiling),
//! beside the weak supervisor itself. One panel per (task, weak, strong, labeler, chain) that has
//! `prompt` runs; each bar is the mean over seeds with ±1 standard-error bars and each seed's
//! value as a dot; a dashed line marks chance.
//!
//! A prompting row is recognised by its `ceiling_on`, `"{k}-shot gold prompt"`; there
//! `strong_acc` is k-shot with gold labels and `w2s_acc` k-shot with weak labels (the same with
//! k = 0). Every other row of the panel is fine-tuning: `w2s_acc` on weak labels, `strong_acc` on
//! gold (the ceiling, which does not depend on the objective).

use std::fmt::Write;

use w2s_core::metrics;

use crate::{plot::esc, plot_ladder::distinct, results::SummaryRow};

/// The k of a prompting row (its ceiling reads `"{k}-shot gold prompt"`), `None` for others.
pub fn prompt_k(r: &SummaryRow) -> Option<usize> {
    r.ceiling_on.strip_suffix("-shot gold prompt")?.parse().ok()
}

/// Whether `rows` hold prompting baselines (objective `prompt`).
pub fn is_prompting(rows: &[SummaryRow]) -> bool {
    rows.iter().any(|r| prompt_k(r).is_some())
}

const WEAK: &str = "#d95f02";
const ZERO: &str = "#888888";
const WEAK_LABELS: &str = "#1b9e77";
const GOLD_LABELS: &str = "#7570b3";

/// One bar: its label, colour, whether it is prompting (drawn light), its cluster (the bars of
/// one cluster stand together: a k's weak and gold shots, fine-tuning on weak and on gold), and
/// a value per seed.
struct Bar {
    label: String,
    color: &'static str,
    prompting: bool,
    cluster: usize,
    values: Vec<f64>,
}

/// One value per seed of `pick` over `rows` (the first row of each seed: the rows of one seed
/// that `pick` reads agree, e.g. the weak supervisor's accuracy).
fn per_seed(rows: &[&SummaryRow], pick: impl Fn(&SummaryRow) -> f64) -> Vec<f64> {
    let mut seeds: Vec<u64> = Vec::new();
    let mut out = Vec::new();
    for r in rows {
        if !seeds.contains(&r.seed) {
            seeds.push(r.seed);
            out.push(pick(r));
        }
    }
    out
}

/// The bars of one panel.
fn bars(here: &[&SummaryRow]) -> Vec<Bar> {
    let (prompts, tuned): (Vec<&SummaryRow>, Vec<&SummaryRow>) = here.iter().partition(|r| prompt_k(r).is_some());
    let mut ks: Vec<usize> = prompts.iter().filter_map(|r| prompt_k(r)).collect();
    ks.sort_unstable();
    ks.dedup();
    let mut out = Vec::new();
    let mut cluster = 0;
    let bar = |label: String, color, prompting, cluster, values| Bar { label, color, prompting, cluster, values };
    // The supervisor on the fine-tuning rows' test set when there are some (prompting may score
    // only the first test examples).
    let weak_rows = if tuned.is_empty() { &prompts } else { &tuned };
    out.push(bar("weak supervisor".into(), WEAK, false, cluster, per_seed(weak_rows, |r| r.weak_acc)));
    for k in ks {
        cluster += 1;
        let of_k: Vec<&SummaryRow> = prompts.iter().copied().filter(|r| prompt_k(r) == Some(k)).collect();
        if k == 0 {
            out.push(bar("zero-shot prompt".into(), ZERO, true, cluster, of_k.iter().map(|r| r.strong_acc).collect()));
        } else {
            out.push(bar(
                format!("{k}-shot, weak labels"),
                WEAK_LABELS,
                true,
                cluster,
                of_k.iter().map(|r| r.w2s_acc).collect(),
            ));
            out.push(bar(
                format!("{k}-shot, gold labels"),
                GOLD_LABELS,
                true,
                cluster,
                of_k.iter().map(|r| r.strong_acc).collect(),
            ));
        }
    }
    let mut objectives: Vec<&str> = Vec::new();
    for r in &tuned {
        if !objectives.contains(&r.objective.as_str()) {
            objectives.push(&r.objective);
        }
    }
    cluster += 1;
    for o in &objectives {
        let label = if objectives.len() > 1 {
            format!("fine-tuned, weak labels ({o})")
        } else {
            "fine-tuned, weak labels".into()
        };
        let values = tuned.iter().filter(|r| r.objective == *o).map(|r| r.w2s_acc).collect();
        out.push(bar(label, WEAK_LABELS, false, cluster, values));
    }
    if !tuned.is_empty() {
        out.push(bar(
            "fine-tuned, gold labels".into(),
            GOLD_LABELS,
            false,
            cluster,
            per_seed(&tuned, |r| r.strong_acc),
        ));
    }
    out
}

/// What puts a row in a panel: everything but its objective and seed.
fn panel_key(r: &SummaryRow) -> String {
    [r.task.as_str(), &r.weak, &r.strong, &r.labeler, &r.chain].join("\u{1}")
}

/// The SVG text of the prompting figure of `rows`, with a chance line at `chance` when given.
pub fn prompting_svg(rows: &[SummaryRow], chance: Option<f64>, title: &str) -> String {
    let panels: Vec<String> = distinct(rows, panel_key)
        .into_iter()
        .filter(|p| rows.iter().any(|r| &panel_key(r) == p && prompt_k(r).is_some()))
        .collect();
    let panel_bars: Vec<(Vec<&SummaryRow>, Vec<Bar>)> = panels
        .iter()
        .map(|p| {
            let here: Vec<&SummaryRow> = rows.iter().filter(|r| &panel_key(r) == p).collect();
            let b = bars(&here);
            (here, b)
        })
        .collect();
    let (left, top, bar_w, cluster_gap, ph, label_h) = (70.0, 130.0, 46.0, 16.0, 280.0, 150.0);
    // A bar's left edge: clusters stand apart.
    let bar_x = |i: usize, b: &Bar| left + 10.0 + i as f64 * bar_w + b.cluster as f64 * cluster_gap;
    let pw = panel_bars
        .iter()
        .filter_map(|(_, b)| b.last().map(|last| bar_x(b.len() - 1, last) + bar_w))
        .fold(200.0f64, f64::max)
        - left;
    // Text widths, roughly (DejaVu Sans: about 0.55 em a character).
    let text_w = |text: &str, size: f64| 0.56 * size * text.chars().count() as f64;
    let seeds = distinct(rows, |r| r.seed.to_string()).len();
    let subtitle = format!(
        "mean over {seeds} seed{} ± 1 s.e. (dots: seeds); light: prompting, solid: fine-tuning",
        if seeds == 1 { "" } else { "s" }
    );
    let headings: Vec<(String, String, Option<String>)> = panel_bars
        .iter()
        .map(|(here, _)| {
            let r0 = here[0];
            let mut line = format!("strong {} | weak supervisor {} | labeler {}", r0.strong, r0.weak, r0.labeler);
            if !r0.chain.is_empty() {
                line.push_str(&format!(" via {}", r0.chain));
            }
            let (prompt_n, tuned_n) = (
                here.iter().filter(|r| prompt_k(r).is_some()).map(|r| r.n_test).max(),
                here.iter().filter(|r| prompt_k(r).is_none()).map(|r| r.n_test).max(),
            );
            let note = match (prompt_n, tuned_n) {
                (Some(pn), Some(tn)) if pn != tn => {
                    Some(format!("prompting: the first {pn} test examples; fine-tuning and supervisor: {tn}"))
                }
                _ => None,
            };
            (r0.task.clone(), line, note)
        })
        .collect();
    let widest = headings
        .iter()
        .flat_map(|(t, l, n)| [text_w(t, 12.5), text_w(l, 12.0), n.as_deref().map_or(0.0, |n| text_w(n, 12.0))])
        .chain([text_w(title, 15.0), text_w(&subtitle, 12.0)])
        .fold(0.0f64, f64::max);
    // The last bar's label runs down and to the right of it.
    let width = (left + pw + 170.0).max(left + widest + 20.0);
    let panel_h = ph + label_h + 70.0;
    let height = top + panel_bars.len().max(1) as f64 * panel_h - 60.0;
    let all = panel_bars.iter().flat_map(|(_, b)| b.iter().flat_map(|b| b.values.iter().copied()));
    let min = all.chain(chance).filter(|x| x.is_finite()).fold(1.0f64, f64::min);
    let lo = ((min - 0.05) * 10.0).floor().clamp(0.0, 9.0) / 10.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(s, r#"<text x="{left}" y="22" font-size="15">{}</text>"#, esc(title));
    let _ = writeln!(s, r##"<text x="{left}" y="42" fill="#555">{}</text>"##, esc(&subtitle));
    for (i, (name, color, opacity)) in [
        ("weak supervisor", WEAK, 0.85),
        ("zero-shot", ZERO, 0.45),
        ("weak labels", WEAK_LABELS, 0.85),
        ("gold labels", GOLD_LABELS, 0.85),
    ]
    .into_iter()
    .enumerate()
    {
        let x = left + i as f64 * 130.0;
        let _ = writeln!(
            s,
            r#"<rect x="{x}" y="54" width="11" height="11" fill="{color}" opacity="{opacity}"/><text x="{}" y="64">{name}</text>"#,
            x + 15.0
        );
    }
    for (p, ((_, bars), (task, line, note))) in panel_bars.iter().zip(&headings).enumerate() {
        let top = top + p as f64 * panel_h;
        let _ = writeln!(
            s,
            r#"<text x="{left}" y="{}" font-size="12.5" font-weight="bold">{}</text>"#,
            top - 40.0,
            esc(task)
        );
        let _ = writeln!(s, r#"<text x="{left}" y="{}">{}</text>"#, top - 24.0, esc(line));
        if let Some(note) = note {
            let _ = writeln!(s, r##"<text x="{left}" y="{}" fill="#555">{}</text>"##, top - 8.0, esc(note));
        }
        let y = |acc: f64| top + ph * (1.0 - (acc - lo) / (1.0 - lo));
        let x1 = left + pw;
        let mut tick = lo;
        while tick <= 1.0001 {
            let ty = y(tick);
            let _ = writeln!(
                s,
                r##"<line x1="{left}" x2="{x1}" y1="{ty}" y2="{ty}" stroke="#e4e4e4"/><text x="{}" y="{}" text-anchor="end">{tick:.1}</text>"##,
                left - 6.0,
                ty + 4.0
            );
            tick += 0.1;
        }
        let _ = writeln!(
            s,
            r#"<text x="18" y="{cy}" transform="rotate(-90 18 {cy})" text-anchor="middle" font-size="13">test accuracy</text>"#,
            cy = top + ph / 2.0
        );
        let _ = writeln!(s, r##"<line x1="{left}" x2="{left}" y1="{top}" y2="{}" stroke="#999"/>"##, y(lo));
        for (i, b) in bars.iter().enumerate() {
            let x = bar_x(i, b);
            let w = bar_w - 10.0;
            let cx = x + w / 2.0;
            let finite: Vec<f64> = b.values.iter().copied().filter(|v| v.is_finite()).collect();
            if !finite.is_empty() {
                let mean = metrics::mean(&finite);
                let opacity = if b.prompting { 0.45 } else { 0.85 };
                let _ = writeln!(
                    s,
                    r#"<rect x="{x}" y="{}" width="{w}" height="{}" fill="{}" opacity="{opacity}"/>"#,
                    y(mean),
                    (y(lo) - y(mean)).max(0.0),
                    b.color
                );
                let mut above = y(mean);
                let se = if finite.len() >= 2 { metrics::standard_error(&finite) } else { f64::NAN };
                // No bar for a zero spread (seeds that agree exactly, as zero-shot ones do): a
                // line of no length cannot be stroked.
                if se > 1e-9 {
                    let _ = writeln!(
                        s,
                        r#"<line x1="{cx}" x2="{cx}" y1="{}" y2="{}" stroke="black" stroke-width="1.5"/><line x1="{}" x2="{}" y1="{yt}" y2="{yt}" stroke="black" stroke-width="1.5"/><line x1="{}" x2="{}" y1="{yb}" y2="{yb}" stroke="black" stroke-width="1.5"/>"#,
                        y(mean - se),
                        y(mean + se),
                        cx - 5.0,
                        cx + 5.0,
                        cx - 5.0,
                        cx + 5.0,
                        yt = y(mean + se),
                        yb = y(mean - se)
                    );
                    above = above.min(y(mean + se));
                }
                for (j, v) in finite.iter().enumerate() {
                    // Seeds spread a little sideways so that equal values stay visible.
                    let dx = (j as f64 - (finite.len() - 1) as f64 / 2.0) * 4.0;
                    let _ = writeln!(
                        s,
                        r#"<circle cx="{}" cy="{}" r="2.6" fill="black" fill-opacity="0.7"/>"#,
                        cx + dx,
                        y(*v)
                    );
                    above = above.min(y(*v));
                }
                let _ = writeln!(
                    s,
                    r#"<text x="{cx}" y="{}" text-anchor="middle" font-size="11">{mean:.2}</text>"#,
                    above - 5.0
                );
            }
            let ly = y(lo) + 12.0;
            let _ = writeln!(s, r#"<text x="{cx}" y="{ly}" transform="rotate(40 {cx} {ly})">{}</text>"#, esc(&b.label));
        }
        if let Some(c) = chance.filter(|c| c.is_finite() && *c > lo) {
            let cy = y(c);
            let _ = writeln!(
                s,
                r##"<line x1="{left}" x2="{x1}" y1="{cy}" y2="{cy}" stroke="#c00" stroke-dasharray="6,4" stroke-width="1.5"/><text x="{}" y="{}" fill="#c00">chance</text>"##,
                x1 + 4.0,
                cy + 4.0
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt_row(k: usize, seed: u64, weak: f64, gold: f64, w: f64) -> SummaryRow {
        let mut r = SummaryRow::example(&format!("prompt(k={k})"), seed, weak, gold, w);
        r.ceiling_on = format!("{k}-shot gold prompt");
        r
    }

    #[test]
    fn bars_for_zero_shot_k_shot_and_fine_tuning_with_chance() {
        let mut rows = Vec::new();
        for seed in 0..3 {
            let d = 0.01 * seed as f64;
            rows.push(SummaryRow::example("xent", seed, 0.78, 0.9 + d, 0.82 + d));
            rows.push(prompt_row(0, seed, 0.78, 0.6, 0.6));
            rows.push(prompt_row(4, seed, 0.78, 0.65 + d, 0.62 + d));
        }
        assert!(is_prompting(&rows) && !is_prompting(&rows[..1]));
        assert_eq!(prompt_k(&rows[2]), Some(4));
        let svg = prompting_svg(&rows, Some(0.5), "t");
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        for label in [
            "weak supervisor",
            "zero-shot prompt",
            "4-shot, weak labels",
            "4-shot, gold labels",
            "fine-tuned, weak labels",
            "fine-tuned, gold labels",
        ] {
            assert!(svg.contains(&format!(">{label}<")), "{label}: {svg}");
        }
        assert!(svg.contains(">test accuracy<") && svg.contains(">chance<"));
        // Six bars of three seeds each (plus the legend's four squares).
        assert_eq!(svg.matches("<circle").count(), 18);
        assert!(svg.contains(">0.91<"), "the ceiling's mean over seeds: {svg}");
        // Error bars (3 lines each) on the four bars whose seeds differ; none where they agree
        // (the supervisor and zero-shot here).
        assert_eq!(svg.matches(r#"stroke="black" stroke-width="1.5""#).count(), 4 * 3);
        assert!(!svg.contains("NaN"));
    }
}
