//! One table of the registry: the entries of one kind, keyed by name, with the renamed names
//! still accepted for a release.

use std::collections::BTreeMap;

use anyhow::{anyhow, Context};
use serde_json::Value;

use crate::{Preset, Spec};

use super::{BuildFn, ParamError, Registration, Registry, ResolveFn};

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

/// One registered command.
pub struct CommandEntry {
    pub name: String,
    pub description: String,
    pub run: super::CommandFn,
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
impl Named for CommandEntry {
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
    // Stopping criteria, as issue #12 spells them.
    ("weak_val_loss", "weak-val-loss"),
    ("weak_val_agreement", "weak-val-agreement"),
    ("confidence_plateau", "confidence-plateau"),
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
    pub(super) entries: BTreeMap<String, E>,
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
    /// `registry` is the one this table belongs to (see [`Registry::backbone`] and its siblings).
    pub(super) fn build_in(&self, registry: &Registry, spec: &Spec) -> anyhow::Result<Box<T>> {
        let entry = self.get(spec.kind())?;
        let params = Value::Object(spec.params().clone());
        let mut de = <dyn erased_serde::Deserializer>::erase(params);
        (entry.build)(&mut de, registry).with_context(|| {
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
    pub(super) fn checked(&self, registry: &Registry, spec: &Spec) -> anyhow::Result<(String, Value)> {
        self.build_in(registry, spec)?;
        let entry = self.get(spec.kind())?;
        let mut de = <dyn erased_serde::Deserializer>::erase(Value::Object(spec.params().clone()));
        Ok((entry.name.clone(), (entry.resolve)(&mut de)?))
    }

    /// Whether `name` (or the new name of an old one) is registered here.
    pub(super) fn contains(&self, name: &str) -> bool {
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
