//! How a component is registered: the [`register!`](crate::register) and
//! [`register_preset!`](crate::register_preset) macros, the inventory entries they submit, and the
//! typed parameter errors of building one.

use anyhow::anyhow;
use serde_json::Value;

use crate::{Backbone, Env, Objective, Params, Preset, StoppingCriterion, Task, WeakLabeler};

use super::Registry;

/// Builds a component from the parameters of its spec (the spec without `kind`).
pub type BuildFn<T> = fn(&mut dyn erased_serde::Deserializer<'_>, &Registry) -> anyhow::Result<Box<T>>;

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
inventory::collect!(Registration<dyn StoppingCriterion>);
inventory::collect!(Registration<dyn Backbone>);
inventory::collect!(PresetRegistration);
inventory::collect!(CommandRegistration);

/// What a command registered with [`register_command!`](crate::register_command) is given: the
/// host's registry (plugins included) and environment.
pub struct CommandCtx<'a> {
    pub registry: &'a Registry,
    pub env: &'a Env,
}

/// Runs a command with its arguments (after the command's name); returns the exit code.
pub type CommandFn = fn(&CommandCtx<'_>, &[String]) -> anyhow::Result<i32>;

/// A compile-time command registration, submitted with [`register_command!`](crate::register_command):
/// a subcommand of `w2s` that a component crate adds (`w2s chess-report`), parsing its own
/// arguments.
pub struct CommandRegistration {
    pub name: &'static str,
    pub description: &'static str,
    pub run: CommandFn,
    pub module: &'static str,
}

/// Deserialize `P` from a spec's parameters, validate it, and build the component; `make` is
/// given the registry the component is built from, to build the components it nests.
pub fn build_from<P: Params, T: ?Sized>(
    de: &mut dyn erased_serde::Deserializer<'_>,
    registry: &Registry,
    make: fn(P, &Registry) -> anyhow::Result<Box<T>>,
) -> anyhow::Result<Box<T>> {
    make(params_from::<P>(de)?, registry)
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

/// Register a component of one of the kinds (`Task`, `Backbone`, `WeakLabeler`, `Objective`,
/// `StoppingCriterion`) at compile time.
///
/// ```ignore
/// w2s_core::register!(Objective {
///     name: "xent",
///     description: "cross-entropy against the (soft) targets",
///     params: XentParams,
///     build: Xent::new,   // fn(XentParams) -> anyhow::Result<Xent>
/// });
/// ```
///
/// A component that nests others (a backbone wrapping a backbone named in its parameters) writes
/// `build_with_registry: Wrapper::new` instead, a `fn(Params, &Registry) -> anyhow::Result<_>`: it
/// is given the registry it is built from (the host's, plugins included), never a fresh one.
#[macro_export]
macro_rules! register {
    ($kind:ident { name: $name:expr, description: $desc:expr, params: $params:ty, build: $build:expr $(,)? }) => {
        $crate::register!(@submit $kind, $name, $desc, $params, |p, _registry| Ok(
            Box::new(($build)(p)?) as Box<dyn $crate::$kind>
        ));
    };
    ($kind:ident {
        name: $name:expr, description: $desc:expr, params: $params:ty, build_with_registry: $build:expr $(,)?
    }) => {
        $crate::register!(@submit $kind, $name, $desc, $params, |p, registry| Ok(
            Box::new(($build)(p, registry)?) as Box<dyn $crate::$kind>
        ));
    };
    (@submit $kind:ident, $name:expr, $desc:expr, $params:ty, $make:expr) => {
        $crate::__private::inventory::submit! {
            $crate::registry::Registration::<dyn $crate::$kind> {
                name: $name,
                description: $desc,
                defaults: $crate::registry::defaults_of::<$params>,
                build: |de, registry| $crate::registry::build_from::<$params, dyn $crate::$kind>(de, registry, $make),
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

/// Register a `w2s` subcommand at compile time: `register_command!(name, description, run)`,
/// with `run: fn(&CommandCtx, &[String]) -> anyhow::Result<i32>` given the arguments after the
/// name. `w2s NAME ARGS...` runs it; `w2s list` shows it.
#[macro_export]
macro_rules! register_command {
    ($name:expr, $desc:expr, $run:expr $(,)?) => {
        $crate::__private::inventory::submit! {
            $crate::registry::CommandRegistration {
                name: $name,
                description: $desc,
                run: $run,
                module: module_path!(),
            }
        }
    };
}
