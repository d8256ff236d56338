//! The report's two renderings of one [`Report`]: a self-contained `report.html` (inline CSS,
//! figures embedded as base64 PNG data URIs, no script and no external file, so it can be mailed
//! or archived as one file) and `report.md` (the same tables, figures linked by path).

use std::fmt::Write;

use base64::Engine;
use w2s_runtime::report::{aggregate, Aggregate};

use super::collect::PresetResults;
use super::findings::Finding;
use super::stats::Verdict;

/// Everything a report shows.
pub struct Report<'a> {
    pub title: String,
    pub results: &'a [PresetResults],
    pub findings: &'a [Finding],
    /// The finding presets whose results are not among the folders.
    pub missing: Vec<String>,
    /// Results folders left out because no run of theirs has finished yet.
    pub unfinished: Vec<String>,
    pub generated: String,
    /// Where the report is written: the Markdown links figures relative to it.
    pub base: std::path::PathBuf,
}

pub const RULE: &str =
    "Each effect is a mean over paired runs (same task, supervisor, student and seed under both conditions) \
or over runs, with a 95% interval of mean ± 1.96 standard errors over those pairs. A finding is **reproduced** when \
the whole interval lies on the side of the bound that the claim predicts, **not reproduced** when it lies wholly on \
the other side, and **inconclusive** when it straddles the bound (or fewer than 2 pairs exist). PGR enters only from \
runs whose gap (ceiling - supervisor) is more than 2 standard errors above zero. **Missing**: no results of a preset \
that measures it were given.";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `**bold**` of [`RULE`] as HTML.
fn bold_html(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in esc(s).split("**").enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<b>{part}</b>");
        } else {
            out.push_str(part);
        }
    }
    out
}

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Reproduced => "yes",
        Verdict::NotReproduced => "no",
        Verdict::Inconclusive => "maybe",
        Verdict::Missing => "missing",
    }
}

fn measured(f: &Finding) -> String {
    f.estimate.map(|e| e.text()).unwrap_or_else(|| "-".into())
}

fn pgr_cell(a: &Aggregate) -> String {
    if a.pgr_defined == 0 {
        return "NaN".into();
    }
    w2s_runtime::report::pgr_cell(a)
}

const SUMMARY_HEAD: [&str; 11] = [
    "task",
    "weak",
    "strong",
    "labeler",
    "objective",
    "seeds",
    "weak acc",
    "ceiling acc",
    "w2s acc",
    "gap ± SE",
    "PGR median [min, max] defined/seeds",
];

fn summary_cells(a: &Aggregate) -> [String; 11] {
    let strong = if a.chain.is_empty() { a.strong.clone() } else { format!("{} (via {})", a.strong, a.chain) };
    [
        a.task.clone(),
        a.weak.clone(),
        strong,
        a.labeler.clone(),
        a.objective.clone(),
        a.seeds.to_string(),
        format!("{:.3}", a.weak_acc),
        format!("{:.3}", a.strong_acc),
        format!("{:.3}", a.w2s_acc),
        format!("{:.3} ± {:.3}", a.gap, a.gap_se),
        pgr_cell(a),
    ]
}

const STYLE: &str = "body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:1em 0;font-size:0.85em}th,td{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}\
th{background:#f2f2f2}td.yes{background:#d8f0d8}td.no{background:#f6d6d6}td.maybe{background:#f6efcf}td.missing{background:#e8e8e8}\
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #ddd}figcaption{font-size:0.85em;color:#555}\
.note{color:#555;font-size:0.9em}code{background:#f4f4f4;padding:0 3px}";

pub fn html(r: &Report<'_>) -> anyhow::Result<String> {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n",
        esc(&r.title)
    );
    let _ = writeln!(h, "<h1>{}</h1>\n<p class=\"note\">{}</p>", esc(&r.title), esc(&r.generated));
    let _ = writeln!(h, "<h2>Findings</h2>\n<table id=\"findings\"><thead><tr><th>finding</th><th>the talk's claim</th><th>effect measured (claim: bound)</th><th>preset</th><th>measured: mean [95% interval], n</th><th>verdict</th><th>detail</th></tr></thead><tbody>");
    for f in r.findings {
        let _ = writeln!(
            h,
            "<tr><td>({}) {}</td><td>{}</td><td>{} <b>{}</b></td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td></tr>",
            f.id,
            esc(f.title),
            esc(f.claim),
            esc(f.effect),
            esc(&f.side),
            esc(&f.preset),
            esc(&measured(f)),
            verdict_class(f.verdict),
            f.verdict.text(),
            esc(&f.detail)
        );
    }
    let _ = writeln!(h, "</tbody></table>\n<p class=\"note\">{}</p>", bold_html(RULE));
    if !r.missing.is_empty() {
        let _ = writeln!(
            h,
            "<p><b>Missing:</b> no results of {} among the folders given; <code>w2s run paper</code> runs every finding preset.</p>",
            esc(&r.missing.join(", "))
        );
    }
    if !r.unfinished.is_empty() {
        let _ = writeln!(h, "<p><b>Not finished yet</b> (left out): {}</p>", esc(&r.unfinished.join(", ")));
    }
    for p in r.results {
        let _ = writeln!(h, "<h2 id=\"{0}\">{0}</h2>\n<p>{1}</p>", esc(&p.name()), esc(&p.preset.description));
        let _ = writeln!(h, "<p class=\"note\">{}</p>", esc(&provenance(p)));
        let _ = write!(h, "<table class=\"summary\"><thead><tr>");
        for c in SUMMARY_HEAD {
            let _ = write!(h, "<th>{}</th>", esc(c));
        }
        let _ = writeln!(h, "</tr></thead><tbody>");
        for a in aggregate(&p.rows) {
            let cells: Vec<String> = summary_cells(&a).iter().map(|c| format!("<td>{}</td>", esc(c))).collect();
            let _ = writeln!(h, "<tr>{}</tr>", cells.concat());
        }
        let _ = writeln!(h, "</tbody></table>");
        for fig in &p.figures {
            let bytes = std::fs::read(fig).map_err(|e| anyhow::anyhow!("reading figure {}: {e}", fig.display()))?;
            let stem = fig.file_stem().and_then(|s| s.to_str()).unwrap_or("figure");
            let alt = format!("{}: {stem}", p.name());
            let width = png_width(&bytes).map(|w| format!(" width=\"{}\"", w / 2)).unwrap_or_default();
            let _ = writeln!(
                h,
                "<figure><img alt=\"{}\"{width} src=\"data:image/png;base64,{}\"><figcaption>{} ({})</figcaption></figure>",
                esc(&alt),
                base64::engine::general_purpose::STANDARD.encode(bytes),
                esc(&alt),
                esc(&fig.display().to_string())
            );
        }
    }
    let _ = writeln!(h, "</body></html>");
    Ok(h)
}

/// The pixel width in a PNG's header (the figures are drawn at twice their size, for sharpness).
fn png_width(bytes: &[u8]) -> Option<u32> {
    (bytes.len() >= 24 && bytes.starts_with(b"\x89PNG"))
        .then(|| u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]))
}

fn provenance(p: &PresetResults) -> String {
    let what = match (&p.registered, &p.modified_from) {
        (Some(_), _) => "the registered preset, unchanged".to_string(),
        (None, Some(base)) => {
            format!("preset `{base}` with changed settings: findings that need `{base}` do not use it")
        }
        (None, None) => "a preset file of its own".to_string(),
    };
    format!("{} runs from {}; {what}", p.rows.len(), p.folder.display())
}

fn md_row(cells: &[String]) -> String {
    format!("| {} |", cells.iter().map(|c| c.replace('|', "\\|")).collect::<Vec<_>>().join(" | "))
}

pub fn markdown(r: &Report<'_>) -> String {
    let mut m = String::new();
    let _ = writeln!(m, "# {}\n\n{}\n\n## Findings\n", r.title, r.generated);
    let head: Vec<String> =
        ["finding", "the talk's claim", "effect (claim: bound)", "preset", "measured", "verdict", "detail"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    let _ = writeln!(m, "{}\n{}", md_row(&head), md_row(&vec!["---".to_string(); head.len()]));
    for f in r.findings {
        let _ = writeln!(
            m,
            "{}",
            md_row(&[
                format!("({}) {}", f.id, f.title),
                f.claim.to_string(),
                format!("{} **{}**", f.effect, f.side),
                f.preset.clone(),
                measured(f),
                format!("**{}**", f.verdict.text()),
                f.detail.clone(),
            ])
        );
    }
    let _ = writeln!(m, "\n{RULE}\n");
    if !r.missing.is_empty() {
        let _ = writeln!(
            m,
            "**Missing:** no results of {} among the folders given; `w2s run paper` runs every finding preset.\n",
            r.missing.join(", ")
        );
    }
    if !r.unfinished.is_empty() {
        let _ = writeln!(m, "**Not finished yet** (left out): {}\n", r.unfinished.join(", "));
    }
    for p in r.results {
        let _ = writeln!(m, "## {}\n\n{}\n\n{}\n", p.name(), p.preset.description, provenance(p));
        let head: Vec<String> = SUMMARY_HEAD.iter().map(|s| s.to_string()).collect();
        let _ = writeln!(m, "{}\n{}", md_row(&head), md_row(&vec!["---".to_string(); head.len()]));
        for a in aggregate(&p.rows) {
            let _ = writeln!(m, "{}", md_row(&summary_cells(&a)));
        }
        let _ = writeln!(m);
        for fig in &p.figures {
            let stem = fig.file_stem().and_then(|s| s.to_str()).unwrap_or("figure");
            let link = fig.strip_prefix(&r.base).unwrap_or(fig);
            let _ = writeln!(m, "![{}: {stem}]({})\n", p.name(), link.display());
        }
    }
    m
}
