//! # w2s-core
//!
//! The core of w2s, a framework for weak-to-strong generalization experiments
//! (Burns et al. 2023, "Weak-to-Strong Generalization: Eliciting Strong Capabilities With Weak
//! Supervision").
//!
//! This is the thin crate that every plugin links, and whose types cross the plugin boundary: the
//! five kinds of component ([`Task`], [`WeakLabeler`], [`Objective`], [`Backbone`], [`StoppingCriterion`]), [`Spec`] and
//! [`Params`], the [`Registry`] that collects them from every linked crate through `inventory`
//! (and, at run time, from plugins), the [`Preset`] format with its run ids, [`Example`] and
//! [`Dataset`], metrics, the one atomic file writer, the reporting side of progress bars and the
//! plugin ABI. Running presets (protocol, training loop, results, report, plots, the plugin host)
//! is the runtime's, crate `w2s-runtime`.

pub mod atomic_file;
pub mod backbone;
pub mod curves;
pub mod env;
pub mod file_lock;
pub mod fingerprint;
pub mod labeler;
pub mod metrics;
pub mod objective;
pub mod params;
pub mod plugin;
pub mod preset;
pub mod progress;
pub mod prompting;
pub mod registry;
pub mod rng;
pub mod spec;
pub mod stopping;
pub mod task;
pub mod train_config;

pub use backbone::{Backbone, Inputs, Model};
pub use env::Env;
pub use labeler::{LabelerCtx, WeakLabeler, WeakLabels};
pub use objective::{Objective, StepInfo};
pub use params::Params;
pub use preset::Preset;
pub use registry::{Registration, Registry};
pub use spec::Spec;
pub use stopping::StoppingCriterion;
pub use task::{Dataset, Example, Task};
pub use train_config::TrainConfig;

/// Re-exports used by the registration macros, so that every crate (and every plugin) uses the
/// same `inventory` and `serde_json` as the core.
#[doc(hidden)]
pub mod __private {
    pub use erased_serde;
    pub use inventory;
    pub use serde_json;
}
