//! `w2s report OUT...`: one self-contained `report.html` and a `report.md` for any results
//! folders of `w2s run` (or folders of them, like `runs/paper/`): the findings table of the
//! talk's claims ([`findings`]), each preset's summary table and every figure. Input is checked
//! whole before anything is written ([`collect`]); both files are written atomically, so a failed
//! report never leaves a half-written one, and an earlier report is replaced only by a complete one.

pub mod collect;
pub mod findings;
pub mod group;
pub mod page;
pub mod stats;

use std::path::{Path, PathBuf};

use anyhow::Context;
use w2s_core::{Env, Registry};

/// What `write` wrote.
pub struct Written {
    pub html: PathBuf,
    pub markdown: PathBuf,
    pub findings: Vec<findings::Finding>,
    pub missing: Vec<String>,
    pub presets: Vec<String>,
}

/// Write `report.html` and `report.md` for the results under `paths` into `out` (default: the
/// one folder given).
pub fn write(paths: &[PathBuf], out: Option<&Path>, registry: &Registry, env: &Env) -> anyhow::Result<Written> {
    let (results, unfinished) = collect::collect(paths, registry, env)?;
    let out = match (out, paths) {
        (Some(o), _) => o.to_path_buf(),
        (None, [one]) => one.clone(),
        (None, _) => anyhow::bail!("{} folders given: say where the report goes with `--out DIR`", paths.len()),
    };
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let found = findings::findings(&results);
    let names: Vec<String> = results.iter().map(|p| p.name()).collect();
    let missing: Vec<String> = group::PAPER
        .iter()
        .filter(|n| !results.iter().any(|p| p.registered.as_deref() == Some(**n)))
        .map(|n| n.to_string())
        .collect();
    let runs: usize = results.iter().map(|p| p.rows.len()).sum();
    let report = page::Report {
        title: format!("w2s report: {}", names.join(", ")),
        results: &results,
        findings: &found,
        missing: missing.clone(),
        unfinished,
        generated: format!(
            "{} presets, {runs} runs, from {}; written by w2s {}. Figures vary slightly across CPUs.",
            results.len(),
            paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
            env!("CARGO_PKG_VERSION")
        ),
        base: out.clone(),
    };
    let html = page::html(&report)?;
    let markdown = page::markdown(&report);
    let (html_path, md_path) = (out.join("report.html"), out.join("report.md"));
    w2s_core::atomic_file::write_atomic(&html_path, html.as_bytes())?;
    w2s_core::atomic_file::write_atomic(&md_path, markdown.as_bytes())?;
    Ok(Written { html: html_path, markdown: md_path, findings: found, missing, presets: names })
}

/// The findings as a terminal table.
pub fn table(found: &[findings::Finding]) -> String {
    let mut s = String::new();
    for f in found {
        let m = f.estimate.map(|e| e.text()).unwrap_or_else(|| "-".into());
        s += &format!("({:<2}) {:<46} {:<15} {:<22} {} {}\n", f.id, f.title, f.verdict.text(), f.preset, m, f.side);
    }
    s
}
