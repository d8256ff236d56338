//! `w2s chess-report`: the chess dataset's statistics (positions per source, unique-move rate,
//! generation rate), the accuracy of each engine rung against ground truth on `chess-puzzles`
//! and `chess-move-pairs`, and (with `--speedup`) the speed-up of 2 engine workers over 1.
//! Positions are generated into the same cache the tasks use, so the presets reuse them.

use w2s_chess::{
    engine_labeler::{ladder_report, EngineLabelerParams},
    generate::{generate, worker_speedup, GenContext, GenSettings, Source},
    tasks::{ChessMovePairs, ChessPuzzles, ChessPuzzlesParams},
};
use w2s_core::{Env, Task};

/// The default ladder: search depth, node budget, skill level and Elo rungs.
pub fn default_rungs() -> Vec<EngineLabelerParams> {
    let mut rungs = Vec::new();
    let mut add = |f: &dyn Fn(&mut EngineLabelerParams)| {
        let mut r = EngineLabelerParams::default();
        f(&mut r);
        rungs.push(r);
    };
    for d in [1, 2, 4, 8] {
        add(&|r| r.depth = Some(d));
    }
    for n in [100, 1000] {
        add(&|r| r.nodes = Some(n));
    }
    for s in [0, 5, 10] {
        add(&|r| r.skill = Some(s));
    }
    for e in [1350, 2000] {
        add(&|r| r.elo = Some(e));
    }
    rungs
}

/// Generate (or reuse) `n_train + n_test` positions with `params`, print the statistics and the
/// ladder on the first `n_eval` test examples of each task (the pairs on the same positions:
/// [`ChessPuzzlesParams::pairs`]).
pub fn run(env: &Env, params: &ChessPuzzlesParams, n_eval: usize, speedup: bool) -> anyhow::Result<()> {
    w2s_core::Params::validate(params)?;
    let ctx = GenContext::from_env(env)?;
    let n = params.n_train + params.n_test;
    let workers = w2s_chess::pool::workers(params.workers);
    let (recs, stats) = generate(&ctx, &params.settings(), n, workers)?;
    println!("chess positions: {} ({} workers)", recs.len(), stats.workers);
    println!("  {stats}");
    let rungs = default_rungs();
    let puzzles = ChessPuzzles::new(params.clone())?.load(env)?;
    println!(
        "engine rungs on chess-puzzles (top-1 move vs ground truth, {} test positions):",
        n_eval.min(puzzles.test.len())
    );
    ladder_report(env, &puzzles, &rungs, n_eval)?;
    let pairs = ChessMovePairs::new(params.pairs())?.load(env)?;
    println!("engine rungs on chess-move-pairs (better move of a pair, {} test pairs):", n_eval.min(pairs.test.len()));
    ladder_report(env, &pairs, &rungs, n_eval)?;
    if speedup {
        let s = GenSettings { sources: vec![Source::Playouts], depth: 10, ..Default::default() };
        let (t1, t2, x) = worker_speedup(&GenContext { show_progress: false, ..ctx }, &s, 40)?;
        println!("40 playout positions at depth 10: 1 worker {t1:.1} s, 2 workers {t2:.1} s: speed-up {x:.2}x");
    }
    Ok(())
}
