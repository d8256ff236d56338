//! Bootstrapping chains in a preset (Burns et al. 2023 §4.3.1; EleutherAI/w2s `--s2s_iters`):
//! `chain` lists, as a grid dimension, the intermediate backbones of a chain
//! `weak → m1 → … → strong`. The weak supervisor and the strong student are the run's own `weak`
//! (through its labeler) and `strong`, so every chain has at least these two links; an empty
//! entry `[]` is the direct weak → strong transfer, which a preset lists next to its chains to
//! compare them on the same data and seeds. Strong-to-strong iteration is the chain of the strong
//! backbone itself repeated N times. `chain_data` says which part of half B each link trains on
//! and labels (the runtime's `protocol::chain` documents both).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{fingerprint::Fingerprint, Spec};

/// Which examples of half B each link of a chain trains on and labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChainData {
    /// Every link trains on (the kept examples of) all of B, with the previous link's labels of
    /// B, and labels all of B for the next: the most data per link, but each link labels the very
    /// examples it was trained on.
    #[default]
    Same,
    /// B is split (seeded) into one slice per trained link (the intermediate ones and the
    /// student): link j trains on slice j, labelled by link j − 1, and labels slice j + 1, never
    /// an example it saw; less data per link.
    Disjoint,
}

impl ChainData {
    pub fn is_default(&self) -> bool {
        *self == ChainData::Same
    }
}

/// One entry of the `chain` dimension after resolution: the links as written, resolved, and the
/// user files they read.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResolvedChain {
    pub(crate) links: Vec<Spec>,
    pub(crate) ids: Vec<Value>,
    pub(crate) files: Vec<Fingerprint>,
}

/// A short label of a chain's intermediate links: `minilm(mode=probe) > smollm2` (empty: direct).
pub fn chain_label(links: &[Spec]) -> String {
    links.iter().map(|s| s.label()).collect::<Vec<_>>().join(" > ")
}
