//! # w2s (experiments)
//!
//! The `w2s` binary's own parts: the registered experiment presets (the chess presets are the
//! chess plugin's), the benchmarks, `w2s tasks`, `w2s new-plugin`, and [`registry`], which
//! returns the registry of every component linked into the binary.

pub mod bench;
pub mod bench_features;
pub mod criteria_cmd;
pub mod finding_presets;
pub mod ladder_presets;
pub mod method_presets;
pub mod new_plugin;
pub mod pool;
pub mod prepare;
pub mod presets;
pub mod report;
pub mod slurm;

/// The registry of every built-in component (tasks, backbones, labelers, objectives, presets).
pub fn registry() -> anyhow::Result<w2s_core::Registry> {
    // Referencing the crates keeps them (and their inventory submissions) linked.
    w2s_builtin::link();
    w2s_tasks::link();
    w2s_chess::link();
    w2s_core::Registry::with_builtins()
}

/// The built-in registry plus the plugins at `paths` and in `$W2S_PLUGIN_PATH`.
pub fn registry_with_plugins(paths: &[std::path::PathBuf]) -> anyhow::Result<w2s_core::Registry> {
    let mut r = registry()?;
    for p in w2s_runtime::plugin_host::paths_from_env().iter().chain(paths) {
        w2s_runtime::plugin_host::load(&mut r, p)?;
    }
    Ok(r)
}
