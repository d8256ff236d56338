//! The component registry: one table per kind, keyed by name.
//!
//! Built-in components reach it through `inventory` (each crate calls [`register!`] or
//! [`register_preset!`]); plugins loaded at run time push [`Entry`]s through the same
//! [`Table::insert`], so both doors fill one registry and a duplicate name is an error that names
//! both origins.

mod registration;
mod table;

use anyhow::anyhow;
use serde_json::Value;

pub use registration::*;
pub use table::*;

use crate::{Backbone, Objective, Spec, StoppingCriterion, Task, WeakLabeler};

/// The outermost nested specs inside `value`: objects with a string `kind`.
fn collect_specs(value: &Value, out: &mut Vec<Spec>) {
    match value {
        Value::Object(map) if matches!(map.get("kind"), Some(Value::String(_))) => {
            if let Ok(spec) = serde_json::from_value::<Spec>(value.clone()) {
                out.push(spec);
            }
        }
        Value::Object(map) => map.values().for_each(|v| collect_specs(v, out)),
        Value::Array(items) => items.iter().for_each(|v| collect_specs(v, out)),
        _ => {}
    }
}

/// The kinds of component, naming a table of the [`Registry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Task,
    Backbone,
    Labeler,
    Objective,
    /// Early-stopping criteria ([`StoppingCriterion`]).
    Criterion,
}

/// All registered components and presets.
pub struct Registry {
    pub tasks: Table<Entry<dyn Task>>,
    pub labelers: Table<Entry<dyn WeakLabeler>>,
    pub objectives: Table<Entry<dyn Objective>>,
    pub criteria: Table<Entry<dyn StoppingCriterion>>,
    pub backbones: Table<Entry<dyn Backbone>>,
    pub presets: Table<PresetEntry>,
    /// Subcommands of `w2s` that component crates add (see [`register_command!`](crate::register_command)).
    pub commands: Table<CommandEntry>,
}

/// One line of `w2s list`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Listing {
    pub kind: String,
    pub name: String,
    pub description: String,
    pub params: Value,
    pub origin: String,
}

fn builtin(module: &str) -> String {
    format!("built-in ({module})")
}

impl Default for Registry {
    fn default() -> Self {
        Self::empty()
    }
}

impl Registry {
    pub fn empty() -> Self {
        Registry {
            tasks: Table::new("task"),
            labelers: Table::new("labeler"),
            objectives: Table::new("objective"),
            criteria: Table::new("criterion"),
            backbones: Table::new("backbone"),
            presets: Table::new("preset"),
            commands: Table::new("command"),
        }
    }

    /// Build the task of `spec` (find its `kind`, deserialize and validate the parameters).
    pub fn task(&self, spec: &Spec) -> anyhow::Result<Box<dyn Task>> {
        self.tasks.build_in(self, spec)
    }

    /// Build the backbone of `spec`; a backbone that nests another is given this registry.
    pub fn backbone(&self, spec: &Spec) -> anyhow::Result<Box<dyn Backbone>> {
        self.backbones.build_in(self, spec)
    }

    /// Build the weak labeler of `spec`.
    pub fn labeler(&self, spec: &Spec) -> anyhow::Result<Box<dyn WeakLabeler>> {
        self.labelers.build_in(self, spec)
    }

    /// Build the objective of `spec`.
    pub fn objective(&self, spec: &Spec) -> anyhow::Result<Box<dyn Objective>> {
        self.objectives.build_in(self, spec)
    }

    /// Build the early-stopping criterion of `spec`.
    pub fn criterion(&self, spec: &Spec) -> anyhow::Result<Box<dyn StoppingCriterion>> {
        self.criteria.build_in(self, spec)
    }

    /// A registry holding every component that the linked crates submitted through `inventory`.
    pub fn with_builtins() -> anyhow::Result<Self> {
        let mut r = Self::empty();
        r.add_inventory(&builtin)?;
        Ok(r)
    }

    /// Add every inventory entry visible from *this copy* of the core crate. A plugin calls this
    /// from inside its own library (where its inventory lives) with the host's registry.
    pub fn add_inventory(&mut self, origin: &dyn Fn(&str) -> String) -> anyhow::Result<()> {
        for r in inventory::iter::<Registration<dyn Task>> {
            self.tasks.insert(Entry::from_registration(r, origin(r.module)))?;
        }
        for r in inventory::iter::<Registration<dyn WeakLabeler>> {
            self.labelers.insert(Entry::from_registration(r, origin(r.module)))?;
        }
        for r in inventory::iter::<Registration<dyn Objective>> {
            self.objectives.insert(Entry::from_registration(r, origin(r.module)))?;
        }
        for r in inventory::iter::<Registration<dyn Backbone>> {
            self.backbones.insert(Entry::from_registration(r, origin(r.module)))?;
        }
        for r in inventory::iter::<Registration<dyn StoppingCriterion>> {
            self.criteria.insert(Entry::from_registration(r, origin(r.module)))?;
        }
        for r in inventory::iter::<PresetRegistration> {
            self.presets.insert(PresetEntry {
                name: r.name.to_string(),
                description: r.description.to_string(),
                preset: r.preset,
                origin: origin(r.module),
            })?;
        }
        for r in inventory::iter::<CommandRegistration> {
            self.commands.insert(CommandEntry {
                name: r.name.to_string(),
                description: r.description.to_string(),
                run: r.run,
                origin: origin(r.module),
            })?;
        }
        Ok(())
    }

    /// Move every entry of `other` (e.g. a plugin's) into this registry. All or nothing: a name
    /// taken in any table is an error naming both origins, and nothing is added.
    pub fn merge(&mut self, other: Registry) -> anyhow::Result<()> {
        fn clashes<E: Named>(mine: &Table<E>, theirs: &Table<E>) -> anyhow::Result<()> {
            for e in theirs.iter() {
                if let Some(old) = mine.entries.get(e.name()) {
                    anyhow::bail!(
                        "duplicate {} `{}`: registered by {} and again by {}",
                        mine.kind,
                        e.name(),
                        old.origin(),
                        e.origin()
                    );
                }
            }
            Ok(())
        }
        clashes(&self.tasks, &other.tasks)?;
        clashes(&self.labelers, &other.labelers)?;
        clashes(&self.objectives, &other.objectives)?;
        clashes(&self.criteria, &other.criteria)?;
        clashes(&self.backbones, &other.backbones)?;
        clashes(&self.presets, &other.presets)?;
        clashes(&self.commands, &other.commands)?;
        self.tasks.entries.extend(other.tasks.entries);
        self.labelers.entries.extend(other.labelers.entries);
        self.objectives.entries.extend(other.objectives.entries);
        self.criteria.entries.extend(other.criteria.entries);
        self.backbones.entries.extend(other.backbones.entries);
        self.presets.entries.extend(other.presets.entries);
        self.commands.entries.extend(other.commands.entries);
        Ok(())
    }

    /// Check `spec` as a component of `kind` (its constructor runs, so every error it can find
    /// without data is found) and return it *resolved*: defaults filled in, fields that cannot
    /// change results left out, and every nested spec resolved the same way. A nested spec is any
    /// object with a string `kind` inside the parameters (`confident.inner`, `noise.matched_to`,
    /// `chess-text.scorer`, or a plugin's); it is looked up by name in every table, so plugin
    /// components are checked too. Errors are [`ParamError`]s naming the field where they can.
    pub fn resolve(&self, kind: Kind, spec: &Spec) -> anyhow::Result<Spec> {
        let (name, params) = match kind {
            Kind::Task => self.tasks.checked(self, spec),
            Kind::Backbone => self.backbones.checked(self, spec),
            Kind::Labeler => self.labelers.checked(self, spec),
            Kind::Objective => self.objectives.checked(self, spec),
            Kind::Criterion => self.criteria.checked(self, spec),
        }?;
        let mut resolved = Spec::new(&name);
        if let Value::Object(map) = params {
            for (key, mut value) in map {
                self.resolve_nested(&mut value, &key)?;
                resolved = resolved.with(&key, value);
            }
        }
        Ok(resolved)
    }

    /// Resolve every nested spec inside `value` (found at `path` in the parameters), in place.
    fn resolve_nested(&self, value: &mut Value, path: &str) -> anyhow::Result<()> {
        match value {
            Value::Object(map) if matches!(map.get("kind"), Some(Value::String(_))) => {
                let spec: Spec = serde_json::from_value(value.clone()).map_err(|e| anyhow!("{e}"))?;
                let kinds: Vec<Kind> = [Kind::Labeler, Kind::Backbone, Kind::Objective, Kind::Task]
                    .into_iter()
                    .filter(|k| self.knows(*k, spec.kind()))
                    .collect();
                if kinds.is_empty() {
                    let known: Vec<String> = [Kind::Labeler, Kind::Backbone, Kind::Objective, Kind::Task]
                        .into_iter()
                        .map(|k| format!("{k:?}s: {}", self.names(k).join(", ")).to_lowercase())
                        .collect();
                    return Err(anyhow::Error::new(ParamError {
                        field: Some(format!("{path}.kind")),
                        message: format!("unknown component `{}` (registered {})", spec.kind(), known.join("; ")),
                    }));
                }
                let mut last = None;
                for k in kinds {
                    match self.resolve(k, &spec) {
                        Ok(r) => {
                            *value = Value::from(r);
                            return Ok(());
                        }
                        Err(e) => last = Some(e),
                    }
                }
                let e = last.unwrap_or_else(|| anyhow!("no table accepted `{}`", spec.kind()));
                Err(anyhow::Error::new(ParamError { field: Some(field_path(path, &e)), message: format!("{e:#}") }))
            }
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    self.resolve_nested(v, &format!("{path}.{k}"))?;
                }
                Ok(())
            }
            Value::Array(items) => {
                for (i, v) in items.iter_mut().enumerate() {
                    self.resolve_nested(v, &format!("{path}[{i}]"))?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The user files `spec` reads ([`crate::Task::data_files`], [`crate::Backbone::data_files`]),
    /// those of its nested specs included (a `chess-text` scorer's checkpoint folder, a plugin
    /// labeler's inner task), so that editing any of them changes the run's identity.
    pub fn data_files(&self, kind: Kind, spec: &Spec) -> anyhow::Result<Vec<std::path::PathBuf>> {
        let mut files = match kind {
            Kind::Task => self.task(spec)?.data_files(),
            Kind::Backbone => self.backbone(spec)?.data_files(),
            Kind::Labeler | Kind::Objective | Kind::Criterion => Vec::new(),
        };
        let mut nested = Vec::new();
        collect_specs(&Value::Object(spec.params().clone()), &mut nested);
        for inner in nested {
            for k in [Kind::Backbone, Kind::Task, Kind::Labeler] {
                if self.knows(k, inner.kind()) {
                    files.extend(self.data_files(k, &inner)?);
                    break;
                }
            }
        }
        Ok(files)
    }

    /// Whether a component of `kind` is registered under `name` (or under its new name).
    pub fn knows(&self, kind: Kind, name: &str) -> bool {
        match kind {
            Kind::Task => self.tasks.contains(name),
            Kind::Backbone => self.backbones.contains(name),
            Kind::Labeler => self.labelers.contains(name),
            Kind::Objective => self.objectives.contains(name),
            Kind::Criterion => self.criteria.contains(name),
        }
    }

    /// The registered names of one kind.
    pub fn names(&self, kind: Kind) -> Vec<String> {
        match kind {
            Kind::Task => self.tasks.names(),
            Kind::Backbone => self.backbones.names(),
            Kind::Labeler => self.labelers.names(),
            Kind::Objective => self.objectives.names(),
            Kind::Criterion => self.criteria.names(),
        }
    }

    /// Every component and preset, kind by kind, for `w2s list` (commands are listed from
    /// [`Registry::commands`]).
    pub fn listing(&self) -> Vec<Listing> {
        fn rows<T: ?Sized>(t: &Table<Entry<T>>) -> Vec<Listing> {
            t.iter()
                .map(|e| Listing {
                    kind: t.kind.to_string(),
                    name: e.name.clone(),
                    description: e.description.clone(),
                    params: e.defaults.clone(),
                    origin: e.origin.clone(),
                })
                .collect()
        }
        let mut out = rows(&self.tasks);
        out.extend(rows(&self.backbones));
        out.extend(rows(&self.labelers));
        out.extend(rows(&self.objectives));
        out.extend(rows(&self.criteria));
        out.extend(self.presets.iter().map(|p| Listing {
            kind: "preset".into(),
            name: p.name.clone(),
            description: p.description.clone(),
            params: serde_json::to_value((p.preset)()).unwrap_or(Value::Null),
            origin: p.origin.clone(),
        }));
        out
    }
}
