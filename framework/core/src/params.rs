//! Component parameters: deserialized from a spec, checked once before any training starts.

use serde::{de::DeserializeOwned, Serialize};

/// The parameters of a component. Implementors derive `Deserialize` with
/// `#[serde(deny_unknown_fields, default)]` so that a misspelled field is an error that lists the
/// valid ones, and `Serialize` + `Default` so that `w2s list` can show the defaults.
pub trait Params: DeserializeOwned + Serialize + Default {
    /// Check values that types alone cannot (ranges, combinations). Names the field at fault.
    fn validate(&self) -> anyhow::Result<()> {
        Ok(())
    }
    /// Fields that cannot change results (worker counts, inference batch sizes): left out of the
    /// resolved spec, so that run ids do not depend on them.
    fn result_neutral_fields() -> &'static [&'static str] {
        &[]
    }
}

/// A component without parameters.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

impl Params for NoParams {}

/// A failed [`check`]: the field it names and its message (`parameter `f`: expected ...`), so that
/// the registry can point at the field without parsing the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFailed {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for CheckFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CheckFailed {}

/// Fail with a message naming `field` unless `ok`.
pub fn check(ok: bool, field: &str, expected: &str) -> anyhow::Result<()> {
    if ok {
        Ok(())
    } else {
        Err(CheckFailed { field: field.to_string(), message: format!("parameter `{field}`: expected {expected}") }
            .into())
    }
}
