//! What position generation makes and is made from: the sources of candidate positions, the
//! settings (which name the cache), a generated record, the context (cache folder, engine) and
//! the statistics of a generation run. The procedure itself is [`super::generate`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use w2s_core::Env;

use crate::{assets, engine::PvLine};

/// Bumped when the generation procedure changes, so old caches are not reused.
pub(super) const GENERATOR_VERSION: u32 = 2;

/// A source of candidate positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// pychess's `mate_in_{2,3,4}.pgn`.
    Puzzles,
    /// pychess's `.olv` composed direct mates.
    Problems,
    /// ECO openings played out with random moves.
    Playouts,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Puzzles => "puzzles",
            Source::Problems => "problems",
            Source::Playouts => "playouts",
        }
    }
}

/// What makes a dataset (the cache folder is a hash of these).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GenSettings {
    pub sources: Vec<Source>,
    /// Depth of the full-strength searches of playouts and of the other moves.
    pub depth: u32,
    /// MultiPV lines stored per playout position (at least 2).
    pub multipv: usize,
    /// Minimum lead of the best move over the second, in centipawns.
    pub gap_cp: i32,
    /// Other legal moves scored per kept position (for move pairs).
    pub n_other_moves: usize,
    /// Node cap of each `go mate N` search of a puzzle.
    pub mate_nodes: u64,
    /// Random plies played after an opening: 1..=max_plies.
    pub max_plies: usize,
    /// Depth of the quick first search of a playout (0: none).
    pub prefilter_depth: u32,
    pub seed: u64,
}

impl Default for GenSettings {
    fn default() -> Self {
        GenSettings {
            sources: vec![Source::Puzzles, Source::Playouts],
            depth: 12,
            multipv: 3,
            gap_cp: 150,
            n_other_moves: 2,
            mate_nodes: 300_000,
            max_plies: 8,
            prefilter_depth: 6,
            seed: 0,
        }
    }
}

impl GenSettings {
    pub fn validate(&self) -> anyhow::Result<()> {
        use w2s_core::params::check;
        check(!self.sources.is_empty(), "sources", "at least one of \"puzzles\", \"problems\", \"playouts\"")?;
        check((1..=40).contains(&self.depth), "depth", "a search depth from 1 to 40")?;
        check((2..=20).contains(&self.multipv), "multipv", "from 2 to 20 lines")?;
        check(self.gap_cp >= 0, "gap_cp", "a non-negative number of centipawns")?;
        check(self.mate_nodes >= 1000, "mate_nodes", "at least 1000 nodes")?;
        check((1..=60).contains(&self.max_plies), "max_plies", "from 1 to 60 plies")?;
        check(self.prefilter_depth < self.depth, "prefilter_depth", "a depth below `depth` (0: no prefilter)")
    }
}

/// One processed candidate, as cached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Place in its source's candidate order.
    pub index: usize,
    /// Stable name of the candidate (`mate_in_2.pgn:9`, `playout:17`).
    pub id: String,
    pub source: Source,
    pub fen: String,
    pub kept: bool,
    /// Why it was not kept (empty when kept).
    pub reason: String,
    /// The best move (UCI) when kept.
    pub best: Option<String>,
    /// The engine's top lines, best first.
    pub lines: Vec<PvLine>,
    /// Other moves, each scored on its own.
    pub others: Vec<PvLine>,
    /// Puzzles: whether the engine's key is the given solution's first move.
    pub solution_agrees: Option<bool>,
}

impl Record {
    /// Every scored move of the position (lines first, then others), one entry per move.
    pub fn scored_moves(&self) -> Vec<&PvLine> {
        let mut out: Vec<&PvLine> = Vec::new();
        for l in self.lines.iter().chain(&self.others) {
            if !out.iter().any(|o| o.mv == l.mv) {
                out.push(l);
            }
        }
        out
    }
}

/// Where generation finds the engine, the source files and its cache.
#[derive(Debug, Clone)]
pub struct GenContext {
    pub engine: PathBuf,
    pub puzzle_dir: Option<PathBuf>,
    pub eco: Option<PathBuf>,
    /// Folder under which `<settings hash>/positions.jsonl` lives.
    pub cache_root: PathBuf,
    pub show_progress: bool,
}

impl GenContext {
    /// The bootstrapped assets and `<cache>/derived/chess`. Missing sources are errors only when used.
    pub fn from_env(env: &Env) -> anyhow::Result<GenContext> {
        Ok(GenContext {
            engine: assets::stockfish_path(env)?,
            puzzle_dir: assets::puzzle_dir(env).ok(),
            eco: assets::eco_path(env).ok(),
            cache_root: env.derived_dir("chess")?,
            show_progress: env.show_progress,
        })
    }
}

/// Counts of one source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceStats {
    pub processed: usize,
    pub kept: usize,
    /// Engine failures (not cached; retried by a rerun).
    pub failed: usize,
    /// Kept puzzles whose key differs from the given solution.
    pub disagree: usize,
}

/// What a generation did.
#[derive(Debug, Clone, Default)]
pub struct GenStats {
    /// Over the candidates behind the returned dataset (cached and new).
    pub per_source: BTreeMap<Source, SourceStats>,
    /// Candidates searched by this call (not read from the cache).
    pub new_candidates: usize,
    pub seconds: f64,
    pub workers: usize,
    /// Reasons for rejection, with counts.
    pub reasons: BTreeMap<String, usize>,
    pub dropped_lines: usize,
}

impl GenStats {
    /// Candidates searched per second by this call.
    pub fn rate(&self) -> f64 {
        self.new_candidates as f64 / self.seconds.max(1e-9)
    }
}

impl std::fmt::Display for GenStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (s, st) in &self.per_source {
            write!(
                f,
                "{}: {} kept of {} ({:.1}% with one clearly best move){}{}; ",
                s.name(),
                st.kept,
                st.processed,
                100.0 * st.kept as f64 / st.processed.max(1) as f64,
                if st.failed > 0 { format!(", {} engine failures", st.failed) } else { String::new() },
                if st.disagree > 0 {
                    format!(", {} keys differ from the given solution", st.disagree)
                } else {
                    String::new()
                },
            )?;
        }
        write!(
            f,
            "{} candidates searched in {:.1} s with {} workers ({:.2}/s)",
            self.new_candidates,
            self.seconds,
            self.workers,
            self.rate()
        )
    }
}
