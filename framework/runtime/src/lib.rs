//! # w2s-runtime
//!
//! The runtime of w2s (Burns et al. 2023, "Weak-to-Strong Generalization: Eliciting Strong
//! Capabilities With Weak Supervision"): what turns a preset of `w2s-core` components into runs,
//! metrics and files on disk. The protocol ([`protocol`]), the training loop shared by every
//! model ([`train`]) and the weak trainer it hands to labelers ([`weak_trainer`]), results on disk
//! ([`results`]), the terminal table ([`report`]) and figures ([`plot`]), progress bars
//! ([`progress`]), preset files ([`preset_file`]), the compute device ([`device`]) and the host
//! side of dynamic plugins ([`plugin_host`]). Plugins never link this crate.

pub mod criteria;
pub mod device;
pub mod figure;
pub mod plot;
pub mod plot_ladder;
pub mod plot_ladder_pgr;
pub mod plot_prompting;
pub mod plugin_host;
pub mod preset_file;
pub mod progress;
pub mod protocol;
pub mod report;
pub mod results;
pub mod train;
pub mod weak_trainer;
