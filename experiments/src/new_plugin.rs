//! `w2s new-plugin NAME`: writes a plugin crate skeleton that builds and loads as it is.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// The lock file this binary was built with: the skeleton starts from it, so that every crate
/// whose types cross the plugin boundary has the host's version (the ABI fingerprint names them).
const HOST_LOCK: &str = include_str!("../../Cargo.lock");

/// The w2s checkout this binary was built from (its `framework/core` is the plugin's dependency).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
}

fn cargo_toml(name: &str, core: &Path) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2021"
license = "MIT OR Apache-2.0"

[lib]
crate-type = ["cdylib", "rlib"]

# Not part of any enclosing workspace.
[workspace]

[dependencies]
# Depend on w2s-core only: the built-in components are already in the w2s binary.
w2s-core = {{ path = "{core}" }}
tch = "=0.24.0"
anyhow = "1"
serde = {{ version = "1", features = ["derive"] }}
serde_json = "1"
"#,
        core = core.display()
    )
}

fn lib_rs(name: &str) -> String {
    let prefix = name.replace('_', "-");
    format!(
        r#"//! {name}: a w2s plugin. Build with `cargo build --release`, then
//! `w2s --plugin target/release/lib{lib}.so list`.

use serde::{{Deserialize, Serialize}};
use tch::Tensor;
use w2s_core::{{objective::soft_cross_entropy, params::check, Objective, Params, StepInfo}};

w2s_core::export_plugin!();

/// Parameters of the objective; `deny_unknown_fields` turns typos into errors that list these.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TemperedParams {{
    /// Weak labels are sharpened (< 1) or flattened (> 1) by this temperature.
    pub temperature: f64,
}}

impl Default for TemperedParams {{
    fn default() -> Self {{
        TemperedParams {{ temperature: 1.0 }}
    }}
}}

impl Params for TemperedParams {{
    fn validate(&self) -> anyhow::Result<()> {{
        check(self.temperature > 0.0, "temperature", "a positive number")
    }}
}}

/// Cross-entropy against weak labels raised to the power 1/temperature and renormalised.
pub struct Tempered(TemperedParams);

impl Objective for Tempered {{
    fn loss(&mut self, logits: &Tensor, targets: &Tensor, _at: StepInfo) -> anyhow::Result<Tensor> {{
        let t = targets.clamp_min(1e-6).pow_tensor_scalar(1.0 / self.0.temperature);
        let t = &t / t.sum_dim_intlist(-1, true, tch::Kind::Float);
        soft_cross_entropy(logits, &t)
    }}
}}

w2s_core::register!(Objective {{
    name: "{prefix}-tempered-xent",
    description: "cross-entropy against temperature-scaled weak labels ({name} plugin)",
    params: TemperedParams,
    build: |p| Ok::<_, anyhow::Error>(Tempered(p)),
}});

fn preset() -> w2s_core::Preset {{
    serde_json::from_value(serde_json::json!({{
        "task": {{"kind": "sentiment", "n_train": 400, "n_test": 200}},
        "weak": {{"kind": "bow", "size": "tiny"}},
        "strong": {{"kind": "bow", "size": "small"}},
        "labeler": "model",
        "objective": ["xent", {{"kind": "{prefix}-tempered-xent", "temperature": 0.5}}],
        "seeds": [0],
        "weak_train": {{"epochs": 3, "lr": 1e-2}},
        "strong_train": {{"epochs": 3, "lr": 1e-2}}
    }}))
    .expect("valid preset")
}}

w2s_core::register_preset!("{prefix}-demo", "built-in sentiment with the {name} objective", preset);
"#,
        lib = name.replace('-', "_")
    )
}

/// Write the skeleton of plugin `name` into `parent/name`; returns the crate folder.
pub fn write(name: &str, parent: &Path) -> anyhow::Result<PathBuf> {
    if name.is_empty()
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        || name.starts_with(|c: char| c.is_ascii_digit())
    {
        bail!("plugin name `{name}`: use letters, digits, `-` and `_`, not starting with a digit");
    }
    let dir = parent.join(name);
    if dir.exists() {
        bail!("{} already exists; choose another name or folder", dir.display());
    }
    let root = repo_root();
    std::fs::create_dir_all(dir.join("src")).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join("Cargo.toml"), cargo_toml(name, &root.join("framework").join("core")))?;
    std::fs::write(dir.join("src").join("lib.rs"), lib_rs(name))?;
    // The same dependency versions as this w2s, so that the ABI fingerprint and tch match (cargo
    // drops the packages the plugin does not use at its first build).
    std::fs::write(dir.join("Cargo.lock"), HOST_LOCK)?;
    Ok(dir)
}
