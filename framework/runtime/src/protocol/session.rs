//! The state of one invocation of a preset: tasks loaded once, stages recomputed once, the
//! output folder claimed, finished runs and stages found and read back.

use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
};

use anyhow::{bail, Context};

use w2s_core::{atomic_file::write_atomic, preset::RunConfig, spec, Dataset, Env, Registry};

use crate::results::{self, SummaryRow};

use super::{plan::FORCED_FILE, RunOptions};

pub(super) struct Session<'a> {
    pub(super) registry: &'a Registry,
    pub(super) env: &'a Env,
    pub(super) opts: &'a RunOptions,
    pub(super) datasets: HashMap<String, Dataset>,
    /// With `force`: what marks a stage or run as recomputed by this invocation (or by the
    /// workers of this invocation, who are given the same token), so that each is recomputed once.
    pub(super) force_token: String,
    /// The lock files of the stages this process has claimed (a stage computed inside another,
    /// e.g. a damaged weak stage redone inside its run, takes its own lock unless held here).
    pub(super) held: HashSet<PathBuf>,
}

impl<'a> Session<'a> {
    pub(super) fn new(registry: &'a Registry, env: &'a Env, opts: &'a RunOptions) -> Self {
        let force_token = opts.force_token.clone().unwrap_or_else(new_force_token);
        Session { registry, env, opts, datasets: HashMap::new(), force_token, held: HashSet::new() }
    }
}

/// A token unique to one invocation (process id and clock).
pub fn new_force_token() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{}-{nanos}", std::process::id())
}

impl Session<'_> {
    pub(super) fn dataset(&mut self, task: &spec::Spec) -> anyhow::Result<&Dataset> {
        let key = spec::short_hash(&serde_json::to_value(task)?);
        if !self.datasets.contains_key(&key) {
            let t = self.registry.task(task)?;
            let data = t.load(self.env).with_context(|| format!("loading task {}", task.label()))?;
            let example = data
                .train
                .first()
                .map(|e| format!("{:?} -> {}", e.text, data.class_names.get(e.label).map_or("?", |s| s.as_str())));
            tracing::info!(
                task = %task.label(), train = data.train.len(), test = data.test.len(),
                balance = ?data.class_balance(&data.train), example = example.unwrap_or_default(), "task loaded"
            );
            self.datasets.insert(key.clone(), data);
        }
        Ok(&self.datasets[&key])
    }

    /// The strong backbone of a run, adapted to the task's unlabeled training texts (both halves,
    /// no labels) when it asks for that (e.g. `smollm2` with `generative`: the talk's unsupervised
    /// next-token step). Adapted weights are cached by the backbone itself.
    pub(super) fn strong_backbone(
        &self,
        rc: &RunConfig,
        data: &Dataset,
    ) -> anyhow::Result<Box<dyn w2s_core::Backbone>> {
        adapted_backbone(self.registry, self.env, &rc.strong, &data.train)
    }

    /// The finished stage in `dir` (its `marker` file exists, and `read` reads it back whole and
    /// of the right sizes), or `None`: compute it. A stage that fails to read is logged and
    /// recomputed, never used and never fatal. With `force`, each stage is recomputed once per
    /// invocation.
    pub(super) fn reusable<T>(&self, dir: &Path, marker: &str, read: impl Fn(&Path) -> anyhow::Result<T>) -> Option<T> {
        if !self.is_done(dir, marker) {
            return None;
        }
        match read(dir) {
            Ok(stage) => Some(stage),
            Err(e) => {
                tracing::warn!("stage {} is damaged ({e:#}); recomputing it", dir.display());
                None
            }
        }
    }

    /// Whether the stage or run in `dir` has its final file `marker` (and, with `force`, was
    /// computed by this invocation).
    pub(super) fn is_done(&self, dir: &Path, marker: &str) -> bool {
        dir.join(marker).exists() && self.is_current(dir)
    }

    fn is_current(&self, dir: &Path) -> bool {
        !self.opts.force || std::fs::read_to_string(dir.join(FORCED_FILE)).is_ok_and(|t| t.trim() == self.force_token)
    }

    /// Record that `dir` was (re)computed by this invocation (only needed with `force`).
    pub(super) fn mark_computed(&self, dir: &Path) -> anyhow::Result<()> {
        if self.opts.force {
            write_atomic(&dir.join(FORCED_FILE), self.force_token.as_bytes())?;
        }
        Ok(())
    }

    /// The summary row of the finished run `id` in `dir` (see [`finished_row`]), if it counts as
    /// finished for this invocation.
    pub(super) fn finished(&self, dir: &Path, id: &str) -> Option<SummaryRow> {
        if !self.is_current(dir) {
            return None;
        }
        finished_row(dir, id)
    }

    /// Claim the stage whose lock file is `lock` for computing it here, waiting while another
    /// process holds it; `None` when this process already holds it.
    pub(super) fn claim(&self, lock: &Path) -> anyhow::Result<Option<w2s_core::file_lock::FileLock>> {
        if self.held.contains(lock) {
            return Ok(None);
        }
        Ok(Some(w2s_core::file_lock::lock(lock)?))
    }
}

/// The backbone of `spec`, adapted to the unlabeled texts of `train` (both texts of a pair) when
/// it asks for that ([`w2s_core::Backbone::adapt_to_texts`]); the strong backbone and the links
/// of a bootstrapping chain are built this way.
pub(super) fn adapted_backbone(
    registry: &Registry,
    env: &Env,
    spec: &spec::Spec,
    train: &[w2s_core::Example],
) -> anyhow::Result<Box<dyn w2s_core::Backbone>> {
    let built = registry.backbone(spec)?;
    let texts: Vec<&str> =
        train.iter().flat_map(|e| std::iter::once(e.text.as_str()).chain(e.pair.as_deref())).collect();
    let adapted = built
        .adapt_to_texts(env, &texts)
        .with_context(|| format!("adapting {} to the task's unlabeled texts", spec.label()))?;
    Ok(adapted.unwrap_or(built))
}

/// The file in a results folder that names the preset whose results it holds.
pub(super) const OWNER_FILE: &str = ".w2s-preset";

/// Refuse a folder that holds another preset's results (unless forced); record ours.
pub(super) fn claim_folder(opts: &RunOptions) -> anyhow::Result<()> {
    let Some(name) = &opts.name else { return Ok(()) };
    let owner = opts.out.join(OWNER_FILE);
    if let Ok(found) = std::fs::read_to_string(&owner) {
        let found = found.trim();
        if found != name && !opts.force {
            bail!(
                "output folder {} holds the results of preset `{found}`, not `{name}`: running `{name}` there \
                 would replace its summary. Choose another folder with --out DIR, or pass --force",
                opts.out.display()
            );
        }
    }
    write_atomic(&owner, name.as_bytes())
}

/// The summary row of a finished run in `dir`, if it has one that reads back whole; a damaged
/// summary is logged, and the run is recomputed.
pub(super) fn finished_row(dir: &Path, id: &str) -> Option<SummaryRow> {
    let summary = dir.join("summary.csv");
    if !summary.exists() {
        return None;
    }
    match results::read_csv::<SummaryRow>(&summary) {
        Ok(rows) if rows.len() == 1 && rows[0].run_id == id => rows.into_iter().next(),
        Ok(rows) => {
            tracing::warn!("{} holds {} rows, not this run's one: recomputing the run", summary.display(), rows.len());
            None
        }
        Err(e) => {
            tracing::warn!("{} cannot be read ({e:#}): recomputing the run", summary.display());
            None
        }
    }
}

/// The preset's collected files from the rows so far: `summary.csv` and the figures. Written
/// after every finished run, so that an interrupted preset keeps the rows of what it finished.
pub(super) fn write_collected(
    out: &Path,
    rows: &[SummaryRow],
    params: &HashMap<String, u64>,
    figures: bool,
) -> anyhow::Result<()> {
    results::write_csv(&out.join("summary.csv"), rows)?;
    if !figures {
        return Ok(());
    }
    // Every run's stopping criteria (runs finished before evaluations were logged have none).
    let mut criteria = Vec::new();
    for r in rows {
        let path = out.join(&r.run_id).join(crate::criteria::rescore::CRITERIA_FILE);
        if path.is_file() {
            criteria.push((r.clone(), results::read_csv::<crate::criteria::CriterionRow>(&path)?));
        }
    }
    if !criteria.is_empty() {
        crate::criteria::rescore::write_collected(out, &criteria)?;
    }
    if !rows.is_empty() {
        let title = out.file_name().and_then(|n| n.to_str()).unwrap_or("w2s");
        crate::figure::write(&out.join("accuracy"), &crate::plot::accuracy_svg(rows, title))?;
        let imitation = crate::plot::pgr_vs_label_acc_svg(rows, &format!("{title}: PGR vs weak label accuracy"));
        crate::figure::write(&out.join("imitation"), &imitation)?;
        if crate::plot_ladder::is_ladder(rows) {
            let ladder =
                crate::plot_ladder::ladder_svg(rows, params, &format!("{title}: accuracy against the strong student"));
            crate::figure::write(&out.join("ladder"), &ladder)?;
            let pgr = crate::plot_ladder_pgr::ladder_pgr_svg(
                rows,
                params,
                &format!("{title}: PGR against the strong student"),
            );
            crate::figure::write(&out.join("ladder-pgr"), &pgr)?;
        }
        if crate::plot_prompting::is_prompting(rows) {
            let chance = rows.iter().find_map(|r| n_classes(&out.join(&r.run_id))).map(|k| 1.0 / k as f64);
            let title = format!("{title}: prompting vs fine-tuning");
            crate::figure::write(&out.join("prompting"), &crate::plot_prompting::prompting_svg(rows, chance, &title))?;
        }
    }
    Ok(())
}

/// The number of classes of the run in `dir`, from the columns `p0, p1, ...` of its
/// `weak_labels.csv` (`None` when it cannot be read).
fn n_classes(dir: &Path) -> Option<usize> {
    use std::io::BufRead;
    let file = std::fs::File::open(dir.join("weak_labels.csv")).ok()?;
    let header = std::io::BufReader::new(file).lines().next()?.ok()?;
    let k = header
        .split(',')
        .filter(|c| c.strip_prefix('p').is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())))
        .count();
    (k >= 2).then_some(k)
}
