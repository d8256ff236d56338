//! The chess tasks, on positions from [`crate::data::generate`]:
//! - `chess-puzzles`: find the best move. Text = FEN; label = the best move's class
//!   ([`moves::class_of`]); `n_classes` = the largest legal-move count in the dataset; classes
//!   are named `move 0`, `move 1`, ... Its positions are kept when the best move leads the second
//!   by at least `gap_cp` ([`ChessPuzzlesParams`]).
//! - `chess-move-pairs`: which of two moves of a position is better, by full-strength scores at
//!   least `min_gap_cp` apart: `Example::pair("<FEN> <uci a>", "<FEN> <uci b>", label)`, label 0
//!   when a is better; the order is a seeded coin flip, so labels are balanced. Its positions are
//!   those of `chess-puzzles` at the default `gap_cp` ([`ChessMovePairsParams`]).
//!
//! Each task has its own parameters (a field of the other task is an error naming the valid
//! ones). Both shuffle the kept positions with `data_seed` and split them into a test set and a
//! training pool; the positions themselves depend only on the generation settings.

use serde::{Deserialize, Serialize};
use w2s_core::{params::check, rng, Dataset, Env, Example, Params, Task};

use crate::board::moves;
use crate::data::{
    generate,
    positions::{GenContext, GenSettings, Record, Source},
};

/// Writes the parameters of a task over generated positions: the common fields (sizes, sources,
/// depth, workers, seeds; one definition, one default, one check) around the task's own gap
/// field, with `Default`, `Params` (`workers` is result-neutral: the positions do not depend on
/// the number of engines, see [`crate::data::generate`]) and `positions()`, what the task asks
/// of generation.
macro_rules! position_task_params {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(#[$gap_doc:meta])*
            pub $gap:ident: i32 = $gap_default:expr,
            $(#[$seed_doc:meta])*
            data_seed,
        }
        generation gap: |$p:ident| $generation_gap:expr;
        own checks: |$q:ident| $own_checks:expr;
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Serialize, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            pub n_train: usize,
            pub n_test: usize,
            /// Where positions come from: "puzzles", "problems", "playouts" (round-robin).
            pub sources: Vec<Source>,
            /// Depth of the ground-truth searches.
            pub depth: u32,
            $(#[$gap_doc])*
            pub $gap: i32,
            /// Engines run in parallel (default: one per core).
            pub workers: Option<usize>,
            /// Seed of the playouts (changes the positions).
            pub seed: u64,
            $(#[$seed_doc])*
            pub data_seed: u64,
        }

        impl Default for $name {
            fn default() -> Self {
                let g = GenSettings::default();
                $name {
                    n_train: 1000,
                    n_test: 300,
                    sources: g.sources,
                    depth: g.depth,
                    $gap: $gap_default,
                    workers: None,
                    seed: 0,
                    data_seed: 0,
                }
            }
        }

        impl Params for $name {
            fn result_neutral_fields() -> &'static [&'static str] {
                &["workers"]
            }
            fn validate(&self) -> anyhow::Result<()> {
                let $q = self;
                $own_checks?;
                self.positions().validate()
            }
        }

        impl $name {
            /// The generation settings these parameters ask for.
            pub fn settings(&self) -> GenSettings {
                self.positions().settings()
            }

            fn positions(&self) -> Positions {
                let $p = self;
                Positions {
                    n_train: self.n_train,
                    n_test: self.n_test,
                    sources: self.sources.clone(),
                    depth: self.depth,
                    gap_cp: $generation_gap,
                    workers: self.workers,
                    seed: self.seed,
                }
            }
        }
    };
}

position_task_params! {
    /// Parameters of `chess-puzzles`.
    pub struct ChessPuzzlesParams {
        /// Minimum lead of the best move over the second (centipawns) for a position to be kept.
        pub gap_cp: i32 = GenSettings::default().gap_cp,
        /// Seed of the shuffle and split (same positions).
        data_seed,
    }
    generation gap: |p| p.gap_cp;
    own checks: |_p| anyhow::Ok(());
}

position_task_params! {
    /// Parameters of `chess-move-pairs`.
    pub struct ChessMovePairsParams {
        /// Minimum score difference between the two moves of a pair (centipawns).
        pub min_gap_cp: i32 = 150,
        /// Seed of the shuffle, split and pair choice (same positions).
        data_seed,
    }
    generation gap: |_p| GenSettings::default().gap_cp;
    own checks: |p| check(p.min_gap_cp >= 0, "min_gap_cp", "a non-negative number of centipawns");
}

impl ChessPuzzlesParams {
    /// `chess-move-pairs` parameters with the same sizes, sources, depth, workers and seeds
    /// (`min_gap_cp` at its default). They use the same positions when `gap_cp` is the default.
    pub fn pairs(&self) -> ChessMovePairsParams {
        ChessMovePairsParams {
            n_train: self.n_train,
            n_test: self.n_test,
            sources: self.sources.clone(),
            depth: self.depth,
            workers: self.workers,
            seed: self.seed,
            data_seed: self.data_seed,
            ..Default::default()
        }
    }
}

/// What both tasks ask of generation.
struct Positions {
    n_train: usize,
    n_test: usize,
    sources: Vec<Source>,
    depth: u32,
    gap_cp: i32,
    workers: Option<usize>,
    seed: u64,
}

impl Positions {
    fn validate(&self) -> anyhow::Result<()> {
        check(self.n_train >= 2, "n_train", "at least 2")?;
        check(self.n_test >= 1, "n_test", "at least 1")?;
        check(self.n_train.checked_add(self.n_test).is_some(), "n_train", "n_train + n_test to fit in a usize")?;
        check(self.workers != Some(0), "workers", "at least 1 (or leave it out for one per core)")?;
        self.settings().validate()
    }

    fn settings(&self) -> GenSettings {
        GenSettings {
            sources: self.sources.clone(),
            depth: self.depth,
            gap_cp: self.gap_cp,
            prefilter_depth: (self.depth / 2).min(6),
            seed: self.seed,
            ..Default::default()
        }
    }

    fn load(&self, env: &Env, n: usize) -> anyhow::Result<Vec<Record>> {
        let ctx = GenContext::from_env(env)?;
        let (recs, stats) = generate::generate(&ctx, &self.settings(), n, crate::engine::pool::workers(self.workers))?;
        if stats.new_candidates > 0 {
            eprintln!("chess positions: {stats}");
        }
        Ok(recs)
    }

    fn check_size(&self, task: &str, got: usize) -> anyhow::Result<()> {
        anyhow::ensure!(
            got >= self.n_train + self.n_test,
            "{task}: only {got} examples for n_train + n_test = {}: add \"playouts\" to `sources` or ask for fewer",
            self.n_train + self.n_test
        );
        Ok(())
    }
}

/// Shuffle and split `items` into (train, test) with `n_test` test items.
fn split<T>(mut items: Vec<T>, n_test: usize, seed: u64, stream: &str) -> (Vec<T>, Vec<T>) {
    rng::Rng::new(seed, stream).shuffle(&mut items);
    let test: Vec<T> = items.drain(..n_test.min(items.len())).collect();
    (items, test)
}

/// `chess-puzzles`.
pub struct ChessPuzzles {
    pub params: ChessPuzzlesParams,
}

impl ChessPuzzles {
    pub fn new(params: ChessPuzzlesParams) -> anyhow::Result<Self> {
        Ok(ChessPuzzles { params })
    }
}

impl Task for ChessPuzzles {
    fn load(&self, env: &Env) -> anyhow::Result<Dataset> {
        let p = &self.params;
        let pos = p.positions();
        let recs = pos.load(env, p.n_train + p.n_test)?;
        pos.check_size("chess-puzzles", recs.len())?;
        let mut examples = Vec::with_capacity(recs.len());
        let mut n_classes = 2;
        for r in &recs {
            let best = r.best.as_deref().unwrap_or_default();
            examples.push(Example::new(r.fen.clone(), moves::class_of(&r.fen, best)?));
            n_classes = n_classes.max(moves::legal_moves_uci(&r.fen)?.len());
        }
        let (train, test) = split(examples, p.n_test, p.data_seed, "chess-puzzles-split");
        Ok(Dataset { n_classes, class_names: (0..n_classes).map(|j| format!("move {j}")).collect(), train, test })
    }
}

/// The pair of a position: the best move against a seeded choice among the scored moves at least
/// `min_gap_cp` worse, in a seeded order. `None` when no scored move is that much worse.
pub fn pair_of(r: &Record, min_gap_cp: i32, seed: u64) -> Option<Example> {
    let scored = r.scored_moves();
    let best = *scored.iter().max_by_key(|l| l.score.cp())?;
    let worse: Vec<_> = scored.iter().filter(|l| best.score.cp() - l.score.cp() >= min_gap_cp.max(1)).collect();
    if worse.is_empty() {
        return None;
    }
    let other = worse[(rng::key(seed, "chess-pair", r.index as u64) % worse.len() as u64) as usize];
    let (a, b) = (format!("{} {}", r.fen, best.mv), format!("{} {}", r.fen, other.mv));
    Some(if rng::uniform(seed, "chess-pair-order", r.index as u64) < 0.5 {
        Example::pair(a, b, 0)
    } else {
        Example::pair(b, a, 1)
    })
}

/// `chess-move-pairs`.
pub struct ChessMovePairs {
    pub params: ChessMovePairsParams,
}

impl ChessMovePairs {
    pub fn new(params: ChessMovePairsParams) -> anyhow::Result<Self> {
        Ok(ChessMovePairs { params })
    }
}

impl Task for ChessMovePairs {
    fn load(&self, env: &Env) -> anyhow::Result<Dataset> {
        let p = &self.params;
        let pos = p.positions();
        let want = p.n_train + p.n_test;
        let mut n = want;
        let pairs = loop {
            let recs = pos.load(env, n)?;
            let pairs: Vec<Example> =
                recs.iter().filter_map(|r| pair_of(r, p.min_gap_cp, p.data_seed)).take(want).collect();
            if pairs.len() >= want || recs.len() < n {
                break pairs;
            }
            n += 2 * (want - pairs.len()) + 10;
        };
        pos.check_size("chess-move-pairs", pairs.len())?;
        let (train, test) = split(pairs, p.n_test, p.data_seed, "chess-pairs-split");
        Ok(Dataset { n_classes: 2, class_names: vec!["first better".into(), "second better".into()], train, test })
    }
}

w2s_core::register!(Task {
    name: "chess-puzzles",
    description: "find the best move: a FEN whose one clearly best move (Stockfish) is the label; classes are the legal moves in UCI order",
    params: ChessPuzzlesParams,
    build: ChessPuzzles::new,
});

w2s_core::register!(Task {
    name: "chess-move-pairs",
    description:
        "which of two moves of a position is better (Stockfish scores at least min_gap_cp apart): pairs \"<FEN> <uci>\"",
    params: ChessMovePairsParams,
    build: ChessMovePairs::new,
});
