//! Presets: a named experiment grid (task × weak × strong × labeler × objective × seed) with
//! training settings. Registered in code, or read from a JSON/TOML file, and adjusted with
//! `--set key=value`.

use std::path::Path;

use anyhow::{bail, Context};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::{Registry, Spec, TrainConfig};

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

fn one_or_many<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        Many(Vec<T>),
        One(T),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::Many(v) => v,
        OneOrMany::One(x) => vec![x],
    })
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
}

impl RunConfig {
    /// Short hash of the resolved config: the run's folder name.
    pub fn id(&self) -> String {
        crate::spec::short_hash(&serde_json::to_value(self).expect("serializable"))
    }
    /// What determines the weak labels (shared by all objectives and students).
    pub fn weak_stage_id(&self) -> String {
        crate::spec::short_hash(&serde_json::json!({
            "stage": "weak", "task": self.task, "weak": self.weak, "labeler": self.labeler,
            "seed": self.seed, "weak_train": self.weak_train,
        }))
    }
    /// What determines the strong ceiling (shared by all labelers and objectives).
    pub fn ceiling_stage_id(&self) -> String {
        crate::spec::short_hash(&serde_json::json!({
            "stage": "ceiling", "task": self.task, "strong": self.strong, "seed": self.seed,
            "strong_train": self.strong_train, "ceiling_on": self.ceiling_on,
        }))
    }
}

impl Preset {
    /// Every run of the grid, in a stable order (task, weak, strong, labeler, objective, seed).
    pub fn runs(&self) -> Vec<RunConfig> {
        let mut out = Vec::new();
        for task in &self.task {
            for weak in &self.weak {
                for strong in &self.strong {
                    for labeler in &self.labeler {
                        for objective in &self.objective {
                            for &seed in &self.seeds {
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
                                });
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// Check every component spec and setting against the registry, before anything trains.
    pub fn validate(&self, registry: &Registry) -> anyhow::Result<()> {
        for (field, list) in [("task", &self.task), ("weak", &self.weak), ("strong", &self.strong)] {
            if list.is_empty() {
                bail!("preset field `{field}` is empty");
            }
        }
        if self.labeler.is_empty() || self.objective.is_empty() || self.seeds.is_empty() {
            bail!("preset fields `labeler`, `objective` and `seeds` each need at least one entry");
        }
        for s in &self.task {
            registry.tasks.build(s).context("in preset field `task`")?;
        }
        for (field, list) in [("weak", &self.weak), ("strong", &self.strong)] {
            for s in list {
                registry.backbones.build(s).with_context(|| format!("in preset field `{field}`"))?;
            }
        }
        for s in &self.labeler {
            registry.labelers.build(s).context("in preset field `labeler`")?;
        }
        for s in &self.objective {
            registry.objectives.build(s).context("in preset field `objective`")?;
        }
        self.weak_train.validate("weak_train")?;
        self.strong_train.validate("strong_train")?;
        Ok(())
    }

    /// Parse a preset from JSON, with overrides applied first.
    pub fn from_value(mut value: Value, overrides: &[String]) -> anyhow::Result<Self> {
        for o in overrides {
            apply_override(&mut value, o)?;
        }
        serde_json::from_value(value).map_err(|e| anyhow::anyhow!("invalid preset: {e}"))
    }

    /// Read a preset file (`.json` or `.toml`). Syntax errors name the file, line and column.
    pub fn read_file(path: &Path) -> anyhow::Result<Value> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading preset file {}", path.display()))?;
        let is_toml = path.extension().and_then(|e| e.to_str()) == Some("toml");
        if is_toml {
            let v: toml::Value =
                toml::from_str(&text).map_err(|e| anyhow::anyhow!("preset file {}: {e}", path.display()))?;
            Ok(serde_json::to_value(v)?)
        } else {
            serde_json::from_str(&text).map_err(|e| {
                anyhow::anyhow!("preset file {}: line {}, column {}: {e}", path.display(), e.line(), e.column())
            })
        }
    }
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
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn overrides_reach_nested_fields_and_lists() {
        let mut v = json!({"strong_train": {"lr": 1.0}, "seeds": [0, 1], "task": {"kind": "sentiment"}});
        apply_override(&mut v, "strong_train.lr=1e-4").unwrap();
        apply_override(&mut v, "seeds=[3]").unwrap();
        apply_override(&mut v, "task.n_train=200").unwrap();
        apply_override(&mut v, "weak.kind=bow").unwrap();
        let mut listed = json!({"task": [{"kind": "sentiment"}], "objective": ["xent", "logconf"]});
        apply_override(&mut listed, "task.n_test=50").unwrap();
        assert_eq!(listed["task"][0]["n_test"], json!(50));
        let err = apply_override(&mut listed, "objective.aux_coef=1").unwrap_err().to_string();
        assert!(err.contains("list of 2") && err.contains("objective.0.aux_coef"), "{err}");
        assert_eq!(v["strong_train"]["lr"], json!(1e-4));
        assert_eq!(v["seeds"], json!([3]));
        assert_eq!(v["task"]["n_train"], json!(200));
        assert_eq!(v["weak"]["kind"], json!("bow"));
        assert!(apply_override(&mut v, "seeds.5=1").unwrap_err().to_string().contains("out of range"));
        assert!(apply_override(&mut v, "novalue").is_err());
    }

    #[test]
    fn one_or_many_and_grid_order() {
        let p: Preset = serde_json::from_value(json!({
            "task": "sentiment", "weak": "bow", "strong": "minilm",
            "labeler": "model", "objective": ["xent", "logconf"], "seeds": [0, 1]
        }))
        .unwrap();
        let runs = p.runs();
        assert_eq!(runs.len(), 4);
        assert_eq!((runs[0].objective.kind(), runs[0].seed), ("xent", 0));
        assert_eq!((runs[3].objective.kind(), runs[3].seed), ("logconf", 1));
        assert_eq!(runs[0].weak_stage_id(), runs[2].weak_stage_id(), "objectives share weak labels");
        assert_ne!(runs[0].id(), runs[2].id());
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.json");
        std::fs::write(&f, "{\n  \"task\": \"sentiment\",\n  \"weak\" \"bow\"\n}").unwrap();
        let err = Preset::read_file(&f).unwrap_err().to_string();
        assert!(err.contains("p.json") && err.contains("line 3"), "{err}");
        let t = dir.path().join("p.toml");
        std::fs::write(&t, "task = \"sentiment\"\nweak = [\n").unwrap();
        let err = Preset::read_file(&t).unwrap_err().to_string();
        assert!(err.contains("p.toml") && err.contains("line 2") || err.contains("line 3"), "{err}");
    }

    #[test]
    fn unknown_preset_field_is_named() {
        let err = Preset::from_value(
            json!({"task": "t", "weak": "w", "strong": "s", "labeler": "l",
            "objective": "o", "seeds": 0, "strong_trian": {}}),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("strong_trian"), "{err}");
    }
}
