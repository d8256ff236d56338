//! The component registry: one table per kind, keyed by name.
//!
//! Built-in components reach it through `inventory` (each crate calls [`register!`] or
//! [`register_preset!`]); plugins loaded at run time push [`Entry`]s through the same
//! [`Table::insert`], so both doors fill one registry and a duplicate name is an error that names
//! both origins.

use std::collections::BTreeMap;

use anyhow::{anyhow, Context};
use serde_json::Value;

use crate::{Backbone, Objective, Params, Preset, Spec, Task, WeakLabeler};

/// Builds a component from the parameters of its spec (the spec without `kind`).
pub type BuildFn<T> = fn(&mut dyn erased_serde::Deserializer<'_>) -> anyhow::Result<Box<T>>;

/// Resolves the parameters of a spec: deserialized (defaults filled in), validated, serialized
/// back, without the fields that cannot change results ([`Params::result_neutral_fields`]).
pub type ResolveFn = fn(&mut dyn erased_serde::Deserializer<'_>) -> anyhow::Result<Value>;

/// A parameter that does not fit its component: which field (when known) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    /// The field at fault, as a dotted path inside the parameters (`n_train`, `inner.rate`).
    pub field: Option<String>,
    pub message: String,
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "field `{field}`: {}", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for ParamError {}

/// Deserialize `P` from a spec's parameters, naming the field of a type error
/// (`serde_path_to_error`), and check it with [`Params::validate`].
fn params_from<P: Params>(de: &mut dyn erased_serde::Deserializer<'_>) -> anyhow::Result<P> {
    let params: P = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = (path != ".").then_some(path);
        anyhow::Error::new(ParamError { field, message: e.into_inner().to_string() })
    })?;
    params.validate().map_err(|e| {
        // A failed `params::check` says which field it checked.
        let field = e.downcast_ref::<crate::params::CheckFailed>().map(|c| c.field.clone());
        anyhow::Error::new(ParamError { field, message: format!("{e:#}") })
    })?;
    Ok(params)
}

/// A compile-time registration, submitted with [`register!`].
pub struct Registration<T: ?Sized + 'static> {
    pub name: &'static str,
    pub description: &'static str,
    /// The default parameters, as JSON (shown by `w2s list`).
    pub defaults: fn() -> Value,
    pub build: BuildFn<T>,
    pub resolve: ResolveFn,
    /// `module_path!()` of the registering code.
    pub module: &'static str,
}

/// A compile-time preset registration, submitted with [`register_preset!`].
pub struct PresetRegistration {
    pub name: &'static str,
    pub description: &'static str,
    pub preset: fn() -> Preset,
    pub module: &'static str,
}

inventory::collect!(Registration<dyn Task>);
inventory::collect!(Registration<dyn WeakLabeler>);
inventory::collect!(Registration<dyn Objective>);
inventory::collect!(Registration<dyn Backbone>);
inventory::collect!(PresetRegistration);

/// Deserialize `P` from a spec's parameters, validate it, and build the component.
pub fn build_from<P: Params, T: ?Sized>(
    de: &mut dyn erased_serde::Deserializer<'_>,
    make: fn(P) -> anyhow::Result<Box<T>>,
) -> anyhow::Result<Box<T>> {
    make(params_from::<P>(de)?)
}

/// The resolved parameters of `P`: every default filled in, validated, and without the fields
/// that cannot change results, so that a spec that writes a default and one that omits it (or
/// differ only in, say, a batch size for inference) resolve to the same value.
pub fn resolve_from<P: Params>(de: &mut dyn erased_serde::Deserializer<'_>) -> anyhow::Result<Value> {
    let params = params_from::<P>(de)?;
    let mut value = serde_json::to_value(&params).map_err(|e| anyhow!("serializing resolved parameters: {e}"))?;
    if let Value::Object(map) = &mut value {
        for field in P::result_neutral_fields() {
            map.remove(*field);
        }
    }
    Ok(value)
}

/// The default parameters of `P` as JSON.
pub fn defaults_of<P: Params>() -> Value {
    serde_json::to_value(P::default()).unwrap_or(Value::Null)
}

/// Register a component of one of the four kinds at compile time.
///
/// ```ignore
/// w2s_core::register!(Objective {
///     name: "xent",
///     description: "cross-entropy against the (soft) targets",
///     params: XentParams,
///     build: Xent::new,   // fn(XentParams) -> anyhow::Result<Xent>
/// });
/// ```
#[macro_export]
macro_rules! register {
    ($kind:ident { name: $name:expr, description: $desc:expr, params: $params:ty, build: $build:expr $(,)? }) => {
        $crate::__private::inventory::submit! {
            $crate::registry::Registration::<dyn $crate::$kind> {
                name: $name,
                description: $desc,
                defaults: $crate::registry::defaults_of::<$params>,
                build: |de| $crate::registry::build_from::<$params, dyn $crate::$kind>(
                    de,
                    |p| Ok(Box::new(($build)(p)?) as Box<dyn $crate::$kind>),
                ),
                resolve: $crate::registry::resolve_from::<$params>,
                module: module_path!(),
            }
        }
    };
}

/// Register a preset at compile time: `register_preset!(name, description, fn() -> Preset)`.
#[macro_export]
macro_rules! register_preset {
    ($name:expr, $desc:expr, $preset:expr $(,)?) => {
        $crate::__private::inventory::submit! {
            $crate::registry::PresetRegistration {
                name: $name,
                description: $desc,
                preset: $preset,
                module: module_path!(),
            }
        }
    };
}

/// One registered component, wherever it came from.
pub struct Entry<T: ?Sized + 'static> {
    pub name: String,
    pub description: String,
    pub defaults: Value,
    pub build: BuildFn<T>,
    pub resolve: ResolveFn,
    /// `built-in (module)` or the path of the plugin library.
    pub origin: String,
}

impl<T: ?Sized> Entry<T> {
    pub fn from_registration(r: &Registration<T>, origin: String) -> Self {
        Entry {
            name: r.name.to_string(),
            description: r.description.to_string(),
            defaults: (r.defaults)(),
            build: r.build,
            resolve: r.resolve,
            origin,
        }
    }
}

/// One registered preset.
pub struct PresetEntry {
    pub name: String,
    pub description: String,
    pub preset: fn() -> Preset,
    pub origin: String,
}

/// Something with a name and an origin: the rows of a [`Table`].
pub trait Named {
    fn name(&self) -> &str;
    fn origin(&self) -> &str;
}
impl<T: ?Sized> Named for Entry<T> {
    fn name(&self) -> &str {
        &self.name
    }
    fn origin(&self) -> &str {
        &self.origin
    }
}
impl Named for PresetEntry {
    fn name(&self) -> &str {
        &self.name
    }
    fn origin(&self) -> &str {
        &self.origin
    }
}

/// Registered names that changed to the one naming style (kebab-case), old → new. The old names
/// are still accepted, with a deprecation warning, so that existing preset files keep working;
/// they resolve to the new name, so old and new spellings give the same run ids.
pub const RENAMED: &[(&str, &str)] = &[
    ("preference_pairs", "preference-pairs"),
    ("user_data", "user-data"),
    ("ground_truth", "ground-truth"),
    ("bradley_terry", "bradley-terry"),
    ("logconf_openai", "logconf-openai"),
    ("logconf_buffered", "logconf-buffered"),
    ("entropy_detached", "entropy-detached"),
];

/// The current name for `name` (itself unless it is an old name in [`RENAMED`]); an old name is
/// warned about once per process.
pub fn current_name(name: &str) -> &str {
    let Some(&(old, new)) = RENAMED.iter().find(|(old, _)| *old == name) else { return name };
    static WARNED: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    if let Ok(mut warned) = WARNED.lock() {
        if !warned.contains(&old) {
            warned.push(old);
            tracing::warn!("`{old}` is now called `{new}`; the old name still works but will be removed");
        }
    }
    new
}

/// The entries of one kind, keyed by name.
pub struct Table<E> {
    pub kind: &'static str,
    entries: BTreeMap<String, E>,
}

impl<E: Named> Table<E> {
    pub fn new(kind: &'static str) -> Self {
        Table { kind, entries: BTreeMap::new() }
    }
    /// Add an entry; a name that is already taken is an error naming both origins.
    pub fn insert(&mut self, entry: E) -> anyhow::Result<()> {
        if let Some(old) = self.entries.get(entry.name()) {
            anyhow::bail!(
                "duplicate {} `{}`: registered by {} and again by {}",
                self.kind,
                entry.name(),
                old.origin(),
                entry.origin()
            );
        }
        self.entries.insert(entry.name().to_string(), entry);
        Ok(())
    }
    /// The entry of `name` (or of its new name, for an old one in [`RENAMED`]).
    pub fn get(&self, name: &str) -> anyhow::Result<&E> {
        let name = if self.entries.contains_key(name) { name } else { current_name(name) };
        self.entries.get(name).ok_or_else(|| {
            anyhow!("unknown {} `{}`; registered {}s: {}", self.kind, name, self.kind, self.names().join(", "))
        })
    }
    pub fn names(&self) -> Vec<String> {
        self.entries.keys().cloned().collect()
    }
    pub fn iter(&self) -> impl Iterator<Item = &E> {
        self.entries.values()
    }
}

impl<T: ?Sized> Table<Entry<T>> {
    /// Build a component from its spec: find `kind`, deserialize and validate the parameters.
    pub fn build(&self, spec: &Spec) -> anyhow::Result<Box<T>> {
        let entry = self.get(spec.kind())?;
        let params = Value::Object(spec.params().clone());
        let mut de = <dyn erased_serde::Deserializer>::erase(params);
        (entry.build)(&mut de).with_context(|| {
            format!(
                "{} `{}` ({}): invalid parameters in {}; defaults: {}",
                self.kind,
                spec.kind(),
                entry.origin,
                serde_json::to_string(&Value::from(spec.clone())).unwrap_or_default(),
                entry.defaults
            )
        })
    }
}

impl<T: ?Sized> Table<Entry<T>> {
    /// Check `spec` (its constructor runs) and return the entry's current name (an old name in
    /// [`RENAMED`] gives the new one) and the spec's own parameters resolved (see
    /// [`resolve_from`]); nested specs are left as written.
    fn checked(&self, spec: &Spec) -> anyhow::Result<(String, Value)> {
        self.build(spec)?;
        let entry = self.get(spec.kind())?;
        let mut de = <dyn erased_serde::Deserializer>::erase(Value::Object(spec.params().clone()));
        Ok((entry.name.clone(), (entry.resolve)(&mut de)?))
    }

    /// Whether `name` (or the new name of an old one) is registered here.
    fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name) || self.entries.contains_key(current_name(name))
    }
}

/// `at` (where a component sits: `labeler[1]`) extended by the field that a [`ParamError`] in
/// `e`'s chain names inside it: `labeler[1].matched_to.rate`; `at` alone when none does.
pub fn field_path(at: &str, e: &anyhow::Error) -> String {
    match e.chain().find_map(|c| c.downcast_ref::<ParamError>()).and_then(|p| p.field.as_ref()) {
        Some(f) => format!("{at}.{f}"),
        None => at.to_string(),
    }
}

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

/// The four kinds of component, naming a table of the [`Registry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Task,
    Backbone,
    Labeler,
    Objective,
}

/// All registered components and presets.
pub struct Registry {
    pub tasks: Table<Entry<dyn Task>>,
    pub labelers: Table<Entry<dyn WeakLabeler>>,
    pub objectives: Table<Entry<dyn Objective>>,
    pub backbones: Table<Entry<dyn Backbone>>,
    pub presets: Table<PresetEntry>,
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
            backbones: Table::new("backbone"),
            presets: Table::new("preset"),
        }
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
        for r in inventory::iter::<PresetRegistration> {
            self.presets.insert(PresetEntry {
                name: r.name.to_string(),
                description: r.description.to_string(),
                preset: r.preset,
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
        clashes(&self.backbones, &other.backbones)?;
        clashes(&self.presets, &other.presets)?;
        self.tasks.entries.extend(other.tasks.entries);
        self.labelers.entries.extend(other.labelers.entries);
        self.objectives.entries.extend(other.objectives.entries);
        self.backbones.entries.extend(other.backbones.entries);
        self.presets.entries.extend(other.presets.entries);
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
            Kind::Task => self.tasks.checked(spec),
            Kind::Backbone => self.backbones.checked(spec),
            Kind::Labeler => self.labelers.checked(spec),
            Kind::Objective => self.objectives.checked(spec),
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
            Kind::Task => self.tasks.build(spec)?.data_files(),
            Kind::Backbone => self.backbones.build(spec)?.data_files(),
            Kind::Labeler | Kind::Objective => Vec::new(),
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
        }
    }

    /// The registered names of one kind.
    pub fn names(&self, kind: Kind) -> Vec<String> {
        match kind {
            Kind::Task => self.tasks.names(),
            Kind::Backbone => self.backbones.names(),
            Kind::Labeler => self.labelers.names(),
            Kind::Objective => self.objectives.names(),
        }
    }

    /// Everything registered, kind by kind, for `w2s list`.
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
