//! Helpers shared by the integration tests in `tests/tests/`.

pub mod browser;

use std::path::Path;

use w2s_core::{Env, Preset, Registry};
use w2s_runtime::protocol;

/// The registry of the `w2s` binary (every built-in component).
pub fn registry() -> Registry {
    w2s::registry().expect("built-in registry")
}

/// The environment of the tests: the bootstrap cache, no progress bars.
pub fn env() -> Env {
    let mut env = Env::from_env();
    env.show_progress = false;
    env
}

/// A seconds-long preset: the `smoke` preset made smaller still.
pub fn tiny_preset(overrides: &[&str]) -> Preset {
    let mut all = vec!["task.n_train=120", "task.n_test=60"];
    all.extend_from_slice(overrides);
    let overrides: Vec<String> = all.iter().map(|s| s.to_string()).collect();
    Preset::from_value(serde_json::to_value(w2s::presets::smoke()).unwrap(), &overrides).unwrap()
}

/// Run a preset into `out`.
pub fn run(
    preset: &Preset,
    registry: &Registry,
    env: &Env,
    out: &Path,
    force: bool,
) -> anyhow::Result<protocol::Outcome> {
    protocol::run_preset(preset, registry, env, &protocol::RunOptions { force, ..protocol::RunOptions::new(out) })
}
