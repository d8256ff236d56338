//! Presets: a named experiment grid (task × weak × strong × labeler × objective × seed) with
//! training settings. Registered in code, or read from a JSON/TOML file (the runtime's
//! `preset_file`), and adjusted with `--set key=value`.

use anyhow::{bail, Context};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

mod chain;

use chain::ResolvedChain;
pub use chain::{chain_label, ChainData};

use crate::{
    fingerprint::{self, Fingerprint},
    registry::{self, Kind},
    Env, Registry, Spec, TrainConfig,
};

/// The version of what stages and runs compute. Every id includes it: bump it when a change to
/// the protocol, a metric or a file format makes old results wrong or unreadable, so that they
/// are recomputed on purpose instead of being reused.
pub const RESULTS_VERSION: u32 = 2;

/// An error in one field of a preset: `field` is its path (`strong_train.lr`, `task[0].n_train`,
/// `labeler[1].inner.rate`), so that the file's line and column can be found (the runtime's
/// `preset_file::locate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresetFieldError {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for PresetFieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "field `{}`: {}", self.field, self.message)
    }
}

impl std::error::Error for PresetFieldError {}

/// Which half of the training pool the strong ceiling is trained on, with ground truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Half {
    /// Half A, as openai/weak-to-strong's sweep does.
    A,
    /// Half B: the same inputs the student sees, with true labels instead of weak ones.
    #[default]
    B,
}

/// One value or a list of them. Each element is deserialized on its own, so that a type error
/// names the element (`seeds[1]: invalid type: string "a", expected u64`), which an untagged enum
/// cannot do.
fn one_or_many<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
    use serde::de::Error;
    let value = Value::deserialize(d)?;
    let elements = match value {
        Value::Array(items) => items.into_iter().enumerate().map(|(i, v)| (Some(i), v)).collect(),
        other => vec![(None, other)],
    };
    elements
        .into_iter()
        .map(|(i, v)| {
            T::deserialize(v).map_err(|e| match i {
                Some(i) => D::Error::custom(format!("element {i}: {e}")),
                None => D::Error::custom(e),
            })
        })
        .collect()
}

/// An experiment grid. Every list field also accepts a single value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    #[serde(default)]
    pub description: String,
    #[serde(deserialize_with = "one_or_many")]
    pub task: Vec<Spec>,
    /// Backbones of the weak supervisor (used by model-based labelers).
    #[serde(deserialize_with = "one_or_many")]
    pub weak: Vec<Spec>,
    /// Backbones of the strong student (and ceiling).
    #[serde(deserialize_with = "one_or_many")]
    pub strong: Vec<Spec>,
    #[serde(deserialize_with = "one_or_many")]
    pub labeler: Vec<Spec>,
    #[serde(deserialize_with = "one_or_many")]
    pub objective: Vec<Spec>,
    #[serde(deserialize_with = "one_or_many")]
    pub seeds: Vec<u64>,
    #[serde(default)]
    pub weak_train: TrainConfig,
    #[serde(default)]
    pub strong_train: TrainConfig,
    #[serde(default)]
    pub ceiling_on: Half,
    /// The fraction of the kept examples of half B held out from the student's training, with
    /// their weak labels, for stopping criteria that read a weak-labelled validation slice
    /// (`weak-val-loss`, `weak-val-agreement`). 0: none (the student trains on all of B).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub weak_val_frac: f64,
    /// Stopping criteria to score every run with, besides every registered criterion with its
    /// default parameters (e.g. `{"kind": "churn", "threshold": 0.05}`). They choose among logged
    /// evaluations after training, so they are not part of any id.
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "one_or_many")]
    pub criteria: Vec<Spec>,
    /// Bootstrapping chains, a grid dimension: each entry lists the intermediate backbones
    /// between the weak supervisor and the strong student (`[]`: the direct transfer). Empty: the
    /// direct transfer only. See [`ChainData`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<Vec<Spec>>,
    /// Which part of half B each link trains on and labels.
    #[serde(default, skip_serializing_if = "ChainData::is_default")]
    pub chain_data: ChainData,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// One cell of a preset's grid: everything that determines one run's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub task: Spec,
    pub weak: Spec,
    pub strong: Spec,
    pub labeler: Spec,
    pub objective: Spec,
    pub seed: u64,
    pub weak_train: TrainConfig,
    pub strong_train: TrainConfig,
    pub ceiling_on: Half,
    /// See [`Preset::weak_val_frac`].
    #[serde(default, skip_serializing_if = "is_zero")]
    pub weak_val_frac: f64,
    /// See [`Preset::criteria`] (not part of the id).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub criteria: Vec<Spec>,
    /// The intermediate links of the run's bootstrapping chain (empty: weak → strong directly).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<Spec>,
    #[serde(default, skip_serializing_if = "ChainData::is_default")]
    pub chain_data: ChainData,
    /// What the ids hash: the resolved specs and the contents of the user files they read.
    pub identity: Identity,
}

/// The resolved form of a run's components (defaults filled in, result-neutral fields left out;
/// see [`Registry::resolve`]) and fingerprints of the user files they read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    pub version: u32,
    pub task: Value,
    pub weak: Value,
    pub strong: Value,
    pub labeler: Value,
    pub objective: Value,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub task_files: Vec<Fingerprint>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weak_files: Vec<Fingerprint>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub strong_files: Vec<Fingerprint>,
    /// Files read by specs nested in the labeler or the objective.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labeler_files: Vec<Fingerprint>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objective_files: Vec<Fingerprint>,
    /// The resolved intermediate links of the chain, and the files they read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain_files: Vec<Fingerprint>,
}

/// Training settings without those that cannot change results (`eval_batch`).
fn result_settings(cfg: &TrainConfig) -> Value {
    let mut v = serde_json::to_value(cfg).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.remove("eval_batch");
    }
    v
}

impl RunConfig {
    /// Short hash of the resolved config: the run's folder name.
    pub fn id(&self) -> String {
        let mut id = serde_json::json!({
            "identity": self.identity, "seed": self.seed, "weak_train": result_settings(&self.weak_train),
            "strong_train": result_settings(&self.strong_train), "ceiling_on": self.ceiling_on,
        });
        // Only when set, so that the ids of runs without a held-out slice stay as they were.
        if self.weak_val_frac > 0.0 {
            id["weak_val_frac"] = self.weak_val_frac.into();
        }
        if !self.chain.is_empty() {
            id["chain_data"] = serde_json::to_value(self.chain_data).unwrap_or(Value::Null);
        }
        crate::spec::short_hash(&id)
    }
    /// What determines the weak labels (shared by all objectives and students).
    pub fn weak_stage_id(&self) -> String {
        let i = &self.identity;
        crate::spec::short_hash(&serde_json::json!({
            "stage": "weak", "version": i.version, "task": i.task, "task_files": i.task_files, "weak": i.weak,
            "weak_files": i.weak_files, "labeler": i.labeler, "labeler_files": i.labeler_files, "seed": self.seed,
            "weak_train": result_settings(&self.weak_train),
        }))
    }
    /// What determines the strong ceiling (shared by all labelers and objectives).
    pub fn ceiling_stage_id(&self) -> String {
        let i = &self.identity;
        crate::spec::short_hash(&serde_json::json!({
            "stage": "ceiling", "version": i.version, "task": i.task, "task_files": i.task_files,
            "strong": i.strong, "strong_files": i.strong_files, "seed": self.seed,
            "strong_train": result_settings(&self.strong_train), "ceiling_on": self.ceiling_on,
        }))
    }
}

/// A preset list after resolution: each entry as written, its resolved form and its files.
struct ResolvedList {
    entries: Vec<(Spec, Value, Vec<Fingerprint>)>,
}

impl Preset {
    /// Every run of the grid, in a stable order (task, weak, strong, labeler, objective, seed), with
    /// identities of the specs *as written* (no registry at hand). The protocol uses
    /// [`Preset::resolved_runs`], whose ids are those of the resolved specs.
    pub fn runs(&self) -> Vec<RunConfig> {
        let raw = |list: &[Spec]| ResolvedList {
            entries: list.iter().map(|s| (s.clone(), Value::from(s.clone()), Vec::new())).collect(),
        };
        let chains = self
            .chains()
            .iter()
            .map(|links| ResolvedChain {
                links: links.clone(),
                ids: links.iter().map(|s| Value::from(s.clone())).collect(),
                files: Vec::new(),
            })
            .collect();
        self.grid(
            [raw(&self.task), raw(&self.weak), raw(&self.strong), raw(&self.labeler), raw(&self.objective)],
            chains,
        )
    }

    /// Every run of the grid, with ids of the *resolved* specs (see [`Registry::resolve`]) and of the
    /// contents of the user files they read. Checks every spec, nested ones included, and rejects
    /// duplicate grid entries (the same seed or the same resolved component twice), before
    /// anything trains.
    pub fn resolved_runs(&self, registry: &Registry, env: &Env) -> anyhow::Result<Vec<RunConfig>> {
        self.check_lists()?;
        // One spec at field path `at`: resolved, with the fingerprints of the user files it reads.
        let resolve_one = |at: &str, kind: Kind, spec: &Spec| -> anyhow::Result<(Value, Vec<Fingerprint>)> {
            let resolved = registry.resolve(kind, spec).map_err(|e| field_error(at, e))?;
            let files = registry.data_files(kind, &resolved).map_err(|e| field_error(at, e))?;
            let files = fingerprint::fingerprints(env, &files).map_err(|e| field_error(at, e))?;
            Ok((Value::from(resolved), files))
        };
        let resolve = |field: &str, kind: Kind, list: &[Spec]| -> anyhow::Result<ResolvedList> {
            let mut entries: Vec<(Spec, Value, Vec<Fingerprint>)> = Vec::new();
            for (i, spec) in list.iter().enumerate() {
                let at = if list.len() == 1 { field.to_string() } else { format!("{field}[{i}]") };
                let (value, files) = resolve_one(&at, kind, spec)?;
                if let Some(j) = entries.iter().position(|(_, v, f)| *v == value && *f == files) {
                    bail!(
                        "preset field `{field}`: entries {j} and {i} are the same component once defaults are                          filled in ({}); a duplicate grid entry would count as separate runs and skew medians",
                        value
                    );
                }
                entries.push((spec.clone(), value, files));
            }
            Ok(ResolvedList { entries })
        };
        let lists = [
            resolve("task", Kind::Task, &self.task)?,
            resolve("weak", Kind::Backbone, &self.weak)?,
            resolve("strong", Kind::Backbone, &self.strong)?,
            resolve("labeler", Kind::Labeler, &self.labeler)?,
            resolve("objective", Kind::Objective, &self.objective)?,
        ];
        self.weak_train.validate("weak_train")?;
        self.strong_train.validate("strong_train")?;
        if !(0.0..0.9).contains(&self.weak_val_frac) {
            bail!(PresetFieldError {
                field: "weak_val_frac".into(),
                message: format!("{} is not a fraction in [0, 0.9) of half B", self.weak_val_frac),
            });
        }
        resolve("criteria", Kind::Criterion, &self.criteria)?;
        let mut chains: Vec<ResolvedChain> = Vec::new();
        for (i, links) in self.chains().iter().enumerate() {
            // Links may repeat (strong-to-strong is the strong backbone several times).
            let mut chain = ResolvedChain { links: links.clone(), ..Default::default() };
            for (j, spec) in links.iter().enumerate() {
                let (value, files) = resolve_one(&format!("chain[{i}][{j}]"), Kind::Backbone, spec)?;
                chain.ids.push(value);
                chain.files.extend(files);
            }
            if let Some(j) = chains.iter().position(|c| c.ids == chain.ids) {
                bail!("preset field `chain`: entries {j} and {i} are the same chain once defaults are filled in");
            }
            chains.push(chain);
        }
        Ok(self.grid(lists, chains))
    }

    /// The chain dimension: `[[]]` (direct only) when the preset lists none.
    fn chains(&self) -> Vec<Vec<Spec>> {
        if self.chain.is_empty() {
            vec![Vec::new()]
        } else {
            self.chain.clone()
        }
    }

    fn grid(
        &self,
        [tasks, weaks, strongs, labelers, objectives]: [ResolvedList; 5],
        chains: Vec<ResolvedChain>,
    ) -> Vec<RunConfig> {
        let mut out = Vec::new();
        for (task, task_id, task_files) in &tasks.entries {
            for (weak, weak_id, weak_files) in &weaks.entries {
                for (strong, strong_id, strong_files) in &strongs.entries {
                    for (labeler, labeler_id, labeler_files) in &labelers.entries {
                        for (objective, objective_id, objective_files) in &objectives.entries {
                            for (chain, &seed) in chains.iter().flat_map(|c| self.seeds.iter().map(move |s| (c, s))) {
                                out.push(RunConfig {
                                    task: task.clone(),
                                    weak: weak.clone(),
                                    strong: strong.clone(),
                                    labeler: labeler.clone(),
                                    objective: objective.clone(),
                                    seed,
                                    weak_train: self.weak_train.clone(),
                                    strong_train: self.strong_train.clone(),
                                    ceiling_on: self.ceiling_on,
                                    weak_val_frac: self.weak_val_frac,
                                    criteria: self.criteria.clone(),
                                    chain: chain.links.clone(),
                                    chain_data: self.chain_data,
                                    identity: Identity {
                                        version: RESULTS_VERSION,
                                        task: task_id.clone(),
                                        weak: weak_id.clone(),
                                        strong: strong_id.clone(),
                                        labeler: labeler_id.clone(),
                                        objective: objective_id.clone(),
                                        task_files: task_files.clone(),
                                        weak_files: weak_files.clone(),
                                        strong_files: strong_files.clone(),
                                        labeler_files: labeler_files.clone(),
                                        objective_files: objective_files.clone(),
                                        chain: chain.ids.clone(),
                                        chain_files: chain.files.clone(),
                                    },
                                });
                            }
                        }
                    }
                }
            }
        }
        out
    }

    fn check_lists(&self) -> anyhow::Result<()> {
        for (field, list) in [("task", &self.task), ("weak", &self.weak), ("strong", &self.strong)] {
            if list.is_empty() {
                bail!("preset field `{field}` is empty");
            }
        }
        if self.labeler.is_empty() || self.objective.is_empty() || self.seeds.is_empty() {
            bail!("preset fields `labeler`, `objective` and `seeds` each need at least one entry");
        }
        for (i, seed) in self.seeds.iter().enumerate() {
            if let Some(j) = self.seeds[..i].iter().position(|s| s == seed) {
                bail!(
                    "preset field `seeds` lists seed {seed} twice (entries {j} and {i}); a duplicate seed                      would count as a separate run and skew medians"
                );
            }
        }
        Ok(())
    }

    /// Check every component spec (nested ones too) and setting against the registry, before
    /// anything trains. Errors name the field ([`PresetFieldError`]).
    pub fn validate(&self, registry: &Registry) -> anyhow::Result<()> {
        let env = Env::from_env();
        self.resolved_runs(registry, &env).map(drop)
    }

    /// Parse a preset from JSON, with overrides applied first. A type error names its field
    /// ([`PresetFieldError`]).
    pub fn from_value(mut value: Value, overrides: &[String]) -> anyhow::Result<Self> {
        for o in overrides {
            apply_override(&mut value, o)?;
        }
        serde_path_to_error::deserialize(value).map_err(|e| {
            let field = e.path().to_string();
            let message = e.into_inner().to_string();
            // `element 1: ...` from [`one_or_many`] becomes part of the path: `seeds[1]`.
            let (field, message) = match message.strip_prefix("element ").and_then(|m| m.split_once(": ")) {
                Some((i, rest)) if i.parse::<usize>().is_ok() => (format!("{field}[{i}]"), rest.to_string()),
                _ => (field, message),
            };
            anyhow::Error::new(PresetFieldError { field, message })
        })
    }
}

/// Turn an error about the component at `at` (`task`, `labeler[1]`) into a [`PresetFieldError`]
/// whose path reaches the parameter at fault when the registry named it.
fn field_error(at: &str, e: anyhow::Error) -> anyhow::Error {
    anyhow::Error::new(PresetFieldError { field: registry::field_path(at, &e), message: format!("{e:#}") })
}

/// Apply `a.b.c=value` to a JSON value. `value` is parsed as JSON when it can be
/// (`3`, `1e-4`, `[0,1]`, `{"kind":"xent"}`, `true`), else taken as a string.
pub fn apply_override(root: &mut Value, assignment: &str) -> anyhow::Result<()> {
    let (path, raw) = assignment
        .split_once('=')
        .with_context(|| format!("--set `{assignment}`: expected key=value, e.g. strong_train.lr=1e-4"))?;
    let value: Value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()));
    let keys: Vec<&str> = path.split('.').collect();
    let mut cur = root;
    for (i, key) in keys.iter().enumerate() {
        let last = i + 1 == keys.len();
        cur = match cur {
            Value::Object(map) => {
                if last {
                    map.insert(key.to_string(), value);
                    return Ok(());
                }
                map.entry(key.to_string()).or_insert_with(|| Value::Object(Default::default()))
            }
            // A one-element list (a single spec) is addressed like its element: `task.n_train`.
            Value::Array(items) if items.len() == 1 && key.parse::<usize>().is_err() => {
                let only = &mut items[0];
                let rest = keys[i..].join(".");
                return apply_override(only, &format!("{rest}={raw}"));
            }
            Value::Array(items) => {
                let len = items.len();
                let idx: usize = key.parse().with_context(|| {
                    format!(
                        "--set `{path}`: `{key}` is inside a list of {len}; index it by number, e.g. `{}`",
                        path.replacen(key, &format!("0.{key}"), 1)
                    )
                })?;
                let slot = items
                    .get_mut(idx)
                    .with_context(|| format!("--set `{path}`: index {idx} is out of range (the list has {len})"))?;
                if last {
                    *slot = value;
                    return Ok(());
                }
                slot
            }
            other => bail!("--set `{path}`: `{key}` is inside {other}, which is not an object or a list"),
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests;
