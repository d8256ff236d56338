//! # w2s-core
//!
//! The core of w2s, a framework for weak-to-strong generalization experiments
//! (Burns et al. 2023, "Weak-to-Strong Generalization: Eliciting Strong Capabilities With Weak
//! Supervision").
//!
//! It defines the four kinds of component ([`Task`], [`WeakLabeler`], [`Objective`],
//! [`Backbone`]), the [`Registry`] that collects them from every linked crate through
//! `inventory` (and, at run time, from plugins), the [`Preset`] format, and the protocol that
//! turns a preset into runs, metrics and files on disk.

pub mod backbone;
pub mod curves;
pub mod device;
pub mod env;
pub mod fingerprint;
pub mod labeler;
pub mod metrics;
pub mod objective;
pub mod params;
pub mod plot;
pub mod plugin;
pub mod preset;
pub mod progress;
pub mod prompting;
pub mod protocol;
pub mod registry;
pub mod report;
pub mod results;
pub mod rng;
pub mod spec;
pub mod task;
pub mod train;

pub use backbone::{Backbone, Inputs, Model};
pub use env::Env;
pub use labeler::{LabelerCtx, WeakLabeler, WeakLabels};
pub use objective::{Objective, StepInfo};
pub use params::Params;
pub use preset::Preset;
pub use registry::{Registration, Registry};
pub use spec::Spec;
pub use task::{Dataset, Example, Task};
pub use train::TrainConfig;

/// Re-exports used by the registration macros, so that every crate (and every plugin) uses the
/// same `inventory` and `serde_json` as the core.
#[doc(hidden)]
pub mod __private {
    pub use erased_serde;
    pub use inventory;
    pub use serde_json;
}
