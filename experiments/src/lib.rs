//! # w2s (experiments)
//!
//! The registered experiment presets, the benchmark, and [`registry`], which returns the
//! registry of every component linked into the `w2s` binary.

pub mod bench;
pub mod presets;

/// The registry of every built-in component (tasks, backbones, labelers, objectives, presets).
pub fn registry() -> anyhow::Result<w2s_core::Registry> {
    // Referencing the crates keeps them (and their inventory submissions) linked.
    w2s_builtin::link();
    w2s_tasks::link();
    w2s_core::Registry::with_builtins()
}
