//! A preset's plan: the stages the protocol computes, with their stable ids and dependencies.
//! Every executor runs this plan (one process, `w2s run --jobs N`'s workers, a Slurm array's
//! tasks), so none re-implements the protocol:
//! - `weak-<hash>`: a labeler's labels of half B and the test set (`stages/weak-<hash>/`), shared
//!   by every objective of its (task, weak, labeler, seed);
//! - `ceiling-<hash>`: the strong model on ground truth (`stages/ceiling-<hash>/`), shared by every
//!   labeler and objective of its (task, strong, seed);
//! - `run-<id>`: one cell's student (with its chain's links, if any) and metrics (`<id>/`), after
//!   its weak stage and its ceiling; a prompted run (objective `prompt`) needs only the weak stage.
//!
//! A stage is finished when its folder's final file exists (`weak_labels.csv`, `test_probs.csv`,
//! `summary.csv`: each written last, atomically).

use std::collections::HashMap;

use serde::Serialize;
use w2s_core::{preset::RunConfig, Registry};

/// What a stage computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StageKind {
    Weak,
    Ceiling,
    Run,
}

/// One stage of a plan.
#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    /// Stable: a hash of what determines the stage's results (as the run ids are).
    pub id: String,
    pub kind: StageKind,
    /// Its folder, relative to the output folder.
    pub folder: String,
    /// The file written last, whose presence means finished.
    pub marker: &'static str,
    /// The ids of the stages it needs.
    pub needs: Vec<String>,
    /// Positions in [`Plan::stages`] of the stages it needs.
    #[serde(skip)]
    pub needs_at: Vec<usize>,
    /// The index (in the preset's resolved runs) of the first run that computes it.
    pub run: usize,
    /// What it is, for people.
    pub label: String,
}

impl Stage {
    /// The lock file that claims this stage, relative to the output folder.
    pub fn lock_file(&self) -> String {
        format!(".locks/{}.lock", self.id)
    }
}

/// The stages of a preset in the order one process computes them: each after what it needs.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub stages: Vec<Stage>,
    /// For each resolved run, the position of its `run-` stage.
    #[serde(skip)]
    pub run_stage: Vec<usize>,
}

/// The label of a run, for logs and tables.
pub fn run_label(rc: &RunConfig) -> String {
    format!(
        "{} | weak {} | strong {} | labeler {} | objective {} | seed {}",
        rc.task.label(),
        rc.weak.label(),
        rc.strong.label(),
        rc.labeler.label(),
        rc.objective.label(),
        rc.seed
    )
}

/// The plan of `runs` (a preset's resolved runs).
pub fn plan(runs: &[RunConfig], registry: &Registry) -> anyhow::Result<Plan> {
    let mut stages: Vec<Stage> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut run_stage = Vec::with_capacity(runs.len());
    let mut add = |stage: Stage, stages: &mut Vec<Stage>| -> usize {
        if let Some(&i) = at.get(&stage.id) {
            return i;
        }
        at.insert(stage.id.clone(), stages.len());
        stages.push(stage);
        stages.len() - 1
    };
    for (r, rc) in runs.iter().enumerate() {
        let prompted = registry.objective(&rc.objective)?.prompting().is_some();
        let weak_id = format!("weak-{}", rc.weak_stage_id());
        let weak = add(
            Stage {
                folder: format!("stages/{weak_id}"),
                id: weak_id,
                kind: StageKind::Weak,
                marker: "weak_labels.csv",
                needs: vec![],
                needs_at: vec![],
                run: r,
                label: format!(
                    "{} | weak {} | labeler {} | seed {}",
                    rc.task.label(),
                    rc.weak.label(),
                    rc.labeler.label(),
                    rc.seed
                ),
            },
            &mut stages,
        );
        let mut needs_at = vec![weak];
        if !prompted {
            let ceiling_id = format!("ceiling-{}", rc.ceiling_stage_id());
            needs_at.push(add(
                Stage {
                    folder: format!("stages/{ceiling_id}"),
                    id: ceiling_id,
                    kind: StageKind::Ceiling,
                    marker: "test_probs.csv",
                    needs: vec![],
                    needs_at: vec![],
                    run: r,
                    label: format!("{} | strong {} | seed {}", rc.task.label(), rc.strong.label(), rc.seed),
                },
                &mut stages,
            ));
        }
        let id = rc.id();
        let needs = needs_at.iter().map(|&i| stages[i].id.clone()).collect();
        run_stage.push(add(
            Stage {
                id: format!("run-{id}"),
                kind: StageKind::Run,
                folder: id,
                marker: "summary.csv",
                needs,
                needs_at,
                run: r,
                label: run_label(rc),
            },
            &mut stages,
        ));
    }
    Ok(Plan { stages, run_stage })
}

/// The plan as a table: one line per stage with what it needs.
pub fn table(plan: &Plan, state: Option<&[&str]>) -> String {
    let mut out = String::new();
    let width = plan.stages.iter().map(|s| s.id.len()).max().unwrap_or(8);
    let head = if state.is_some() { format!("{:<8} ", "state") } else { String::new() };
    out.push_str(&format!("{:<4} {head}{:<width$}  {:<22}  what\n", "#", "stage", "needs (#)"));
    for (i, s) in plan.stages.iter().enumerate() {
        let needs = if s.needs_at.is_empty() {
            "-".to_string()
        } else {
            s.needs_at.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")
        };
        let st = state.map(|st| format!("{:<8} ", st[i])).unwrap_or_default();
        out.push_str(&format!("{i:<4} {st}{:<width$}  {needs:<22}  {}\n", s.id, s.label));
    }
    let count = |k| plan.stages.iter().filter(|s| s.kind == k).count();
    out.push_str(&format!(
        "{} stages: {} weak, {} ceiling, {} runs\n",
        plan.stages.len(),
        count(StageKind::Weak),
        count(StageKind::Ceiling),
        count(StageKind::Run)
    ));
    out
}

/// The file in a stage or run folder that names the `--force` invocation that computed it.
pub const FORCED_FILE: &str = ".w2s-forced";

/// Where a stage stands, as seen from outside the workers (for displays).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StageState {
    Finished,
    /// Claimed: some live process holds its lock.
    Running,
    Waiting,
}

impl StageState {
    pub fn name(self) -> &'static str {
        match self {
            StageState::Finished => "finished",
            StageState::Running => "running",
            StageState::Waiting => "waiting",
        }
    }
}

/// The state of every stage of `plan` in the output folder `out`; with `force_token`, a stage
/// counts as finished only if that `--force` invocation computed it.
pub fn states(plan: &Plan, out: &std::path::Path, force_token: Option<&str>) -> Vec<StageState> {
    plan.stages
        .iter()
        .map(|s| {
            let dir = out.join(&s.folder);
            let current = force_token
                .is_none_or(|t| std::fs::read_to_string(dir.join(FORCED_FILE)).is_ok_and(|found| found.trim() == t));
            if dir.join(s.marker).exists() && current {
                StageState::Finished
            } else if w2s_core::file_lock::is_held(&out.join(s.lock_file())) {
                StageState::Running
            } else {
                StageState::Waiting
            }
        })
        .collect()
}
