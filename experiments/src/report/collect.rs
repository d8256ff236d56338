//! Finding the results a report is made of: `w2s run` output folders (`preset.json` +
//! `summary.csv`, optionally `criteria.csv` and figures), given one by one or as folders of them.
//! Every way such input can be wrong is refused here, before anything is written, with the file
//! and what was expected: an empty folder, another tool's CSVs, a folder holding runs of
//! different presets, two folders of the same preset.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use w2s_core::{Env, Preset, Registry};
use w2s_runtime::criteria::CriterionRow;
use w2s_runtime::results::{self, SummaryRow};

/// One preset's results.
#[derive(Debug, Clone)]
pub struct PresetResults {
    pub folder: PathBuf,
    /// The registered preset these are results of (its config unchanged), if any.
    pub registered: Option<String>,
    /// The folder is named after a registered preset but its config differs (overrides).
    pub modified_from: Option<String>,
    pub preset: Preset,
    pub rows: Vec<SummaryRow>,
    pub criteria: Vec<CriterionRow>,
    /// The figures (`*.png`), sorted by name.
    pub figures: Vec<PathBuf>,
}

impl PresetResults {
    /// The name to show: the registered preset's, else the folder's.
    pub fn name(&self) -> String {
        self.registered
            .clone()
            .unwrap_or_else(|| self.folder.file_name().and_then(|n| n.to_str()).unwrap_or("results").to_string())
    }
}

const PRESET_FILE: &str = "preset.json";
const SUMMARY_FILE: &str = "summary.csv";

/// The results folders under `paths`: each path is a results folder or holds some (one level).
/// Inside a folder of folders, one whose preset has no finished run yet (still running, or never
/// run) is left out and named in the second list; given directly, it is an error.
pub fn collect(paths: &[PathBuf], registry: &Registry, env: &Env) -> anyhow::Result<(Vec<PresetResults>, Vec<String>)> {
    anyhow::ensure!(!paths.is_empty(), "no folder given: `w2s report OUT...` reads folders written by `w2s run`");
    let mut found = Vec::new();
    let mut unfinished = Vec::new();
    for path in paths {
        anyhow::ensure!(path.is_dir(), "{}: not a folder (expected a folder written by `w2s run`)", path.display());
        if path.join(PRESET_FILE).is_file() {
            found.push(read_folder(path, registry, env)?);
            continue;
        }
        let mut subs: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("reading {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join(PRESET_FILE).is_file())
            .collect();
        subs.sort();
        if subs.is_empty() {
            bail!("{}", not_results(path));
        }
        for sub in subs {
            if has_no_finished_run(&sub) {
                tracing::warn!("{}: no finished run yet; left out of the report", sub.display());
                unfinished.push(sub.display().to_string());
                continue;
            }
            found.push(read_folder(&sub, registry, env)?);
        }
    }
    for (i, a) in found.iter().enumerate() {
        if let Some(b) = found[..i].iter().find(|b| b.registered.is_some() && b.registered == a.registered) {
            bail!(
                "two results folders of preset `{}`: {} and {}; give one of them",
                a.name(),
                b.folder.display(),
                a.folder.display()
            );
        }
    }
    anyhow::ensure!(
        !found.is_empty(),
        "no finished run in {}: nothing to report yet",
        paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    );
    Ok((found, unfinished))
}

/// A results folder whose summary is missing or has no row.
fn has_no_finished_run(folder: &Path) -> bool {
    let summary = folder.join(SUMMARY_FILE);
    !summary.is_file() || std::fs::read_to_string(&summary).is_ok_and(|t| t.lines().count() <= 1)
}

/// Why a folder is not w2s results, naming what it holds instead.
fn not_results(path: &Path) -> String {
    let csvs: Vec<String> = std::fs::read_dir(path)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "csv"))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let what = if csvs.is_empty() {
        "it holds no w2s results".to_string()
    } else {
        format!("it holds CSV files ({}) but no {PRESET_FILE}: not results of `w2s run`", csvs.join(", "))
    };
    format!(
        "{}: {what}. Expected a folder written by `w2s run` ({PRESET_FILE} and {SUMMARY_FILE}), or a folder of such folders (e.g. runs/ or runs/paper/)",
        path.display()
    )
}

fn read_folder(folder: &Path, registry: &Registry, env: &Env) -> anyhow::Result<PresetResults> {
    let preset_path = folder.join(PRESET_FILE);
    let text = std::fs::read_to_string(&preset_path).with_context(|| format!("reading {}", preset_path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", preset_path.display()))?;
    let preset = Preset::from_value(value.clone(), &[])
        .with_context(|| format!("{}: not a w2s preset", preset_path.display()))?;
    let summary = folder.join(SUMMARY_FILE);
    anyhow::ensure!(
        summary.is_file(),
        "{}: {PRESET_FILE} but no {SUMMARY_FILE}: no run of this preset has finished yet (run it with `w2s run`)",
        folder.display()
    );
    let rows: Vec<SummaryRow> = results::read_csv(&summary)
        .with_context(|| format!("{}: not a w2s summary (columns task, weak, strong, ..., pgr)", summary.display()))?;
    anyhow::ensure!(!rows.is_empty(), "{}: no finished run in it", summary.display());
    // Every row must be a run of this folder's preset.
    let ids: std::collections::HashSet<String> = preset
        .resolved_runs(registry, env)
        .with_context(|| format!("{}: its preset no longer resolves", preset_path.display()))?
        .iter()
        .map(|r| r.id())
        .collect();
    let foreign: Vec<&str> = rows.iter().filter(|r| !ids.contains(&r.run_id)).map(|r| r.run_id.as_str()).collect();
    if !foreign.is_empty() {
        bail!(
            "{}: runs of different presets mixed: {} of its {} rows ({}{}) are not runs of the preset in {PRESET_FILE}. \
             Rerun each preset into its own folder (`w2s run PRESET --out DIR`)",
            summary.display(),
            foreign.len(),
            rows.len(),
            foreign.iter().take(3).copied().collect::<Vec<_>>().join(", "),
            if foreign.len() > 3 { ", ..." } else { "" }
        );
    }
    let criteria_path = folder.join("criteria.csv");
    let criteria = if criteria_path.is_file() {
        results::read_csv(&criteria_path).with_context(|| format!("reading {}", criteria_path.display()))?
    } else {
        Vec::new()
    };
    let mut figures: Vec<PathBuf> = std::fs::read_dir(folder)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .collect();
    figures.sort();
    let folder_name = folder.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let mut registered = None;
    for entry in registry.presets.iter() {
        if serde_json::to_value((entry.preset)()).ok().as_ref() == Some(&serde_json::to_value(&preset)?) {
            registered = Some(entry.name.to_string());
            break;
        }
    }
    let modified_from =
        (registered.is_none() && registry.presets.get(folder_name).is_ok()).then(|| folder_name.to_string());
    Ok(PresetResults { folder: folder.to_path_buf(), registered, modified_from, preset, rows, criteria, figures })
}
