//! The `paper` group: every finding preset of the talk, run one after the other into
//! `OUT/<preset>/` (default `runs/paper/`), then `w2s report OUT`.

/// The presets `w2s run paper` runs, in order (quick ones first, so a partial run already
/// reports something).
pub const PAPER: &[&str] = &[
    "quickstart",
    "synthetic-vs-model",
    "early-stopping",
    "bootstrap-chain",
    "reward-pairs",
    "reward-generative",
    "prompting",
    "model-ladder",
];

/// The registered group names.
pub const GROUPS: &[(&str, &[&str])] = &[("paper", PAPER)];

/// The presets of group `name`, if it is one.
pub fn group(name: &str) -> Option<&'static [&'static str]> {
    GROUPS.iter().find(|(n, _)| *n == name).map(|(_, p)| *p)
}
