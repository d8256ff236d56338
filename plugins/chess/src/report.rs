//! `w2s chess-report`: the chess dataset's statistics (positions per source, unique-move rate,
//! generation rate), the accuracy of each engine rung against ground truth on `chess-puzzles`
//! and `chess-move-pairs`, and (with `--speedup`) the speed-up of 2 engine workers over 1.
//! Positions are generated into the same cache the tasks use, so the presets reuse them.

use crate::{
    data::generate::{generate, worker_speedup},
    data::positions::{GenContext, GenSettings, Source},
    labeler::{ladder_report, EngineLabelerParams},
    tasks::{ChessMovePairs, ChessPuzzles, ChessPuzzlesParams},
};
use clap::Parser;
use w2s_core::{registry::CommandCtx, Env, Task};

/// The arguments of `w2s chess-report`.
#[derive(Parser, Debug)]
#[command(
    name = "w2s chess-report",
    about = "Chess data statistics, engine-rung accuracies against ground truth, worker speed-up."
)]
struct ReportArgs {
    /// Training positions to generate (or reuse), at least 2.
    #[arg(long, default_value_t = 300, value_parser = at_least::<2>)]
    n_train: usize,
    /// Test positions, at least 1; the rungs are scored on them.
    #[arg(long, default_value_t = 100, value_parser = at_least::<1>)]
    n_test: usize,
    /// Ground-truth search depth (1-40).
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=40))]
    depth: u32,
    /// Also time 40 playout positions with 1 and with 2 workers.
    #[arg(long)]
    speedup: bool,
}

/// A whole number of at least `MIN` (clap's own ranges print the type's maximum as the bound).
fn at_least<const MIN: usize>(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= MIN => Ok(n),
        _ => Err(format!("expected a whole number of at least {MIN}")),
    }
}

/// `w2s chess-report [--n-train N] [--n-test N] [--depth D] [--speedup]`: a usage error (or
/// `--help`) is printed by clap, which exits as any `w2s` command does.
fn command(ctx: &CommandCtx<'_>, args: &[String]) -> anyhow::Result<i32> {
    let a = ReportArgs::try_parse_from(std::iter::once("w2s chess-report".to_string()).chain(args.iter().cloned()))
        .unwrap_or_else(|e| e.exit());
    let params = ChessPuzzlesParams { n_train: a.n_train, n_test: a.n_test, depth: a.depth, ..Default::default() };
    run(ctx.env, &params, a.n_test, a.speedup)?;
    Ok(0)
}

w2s_core::register_command!(
    "chess-report",
    "chess data statistics, engine-rung accuracies against ground truth, 2-vs-1 worker speed-up",
    command
);

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
    let workers = crate::engine::pool::workers(params.workers);
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
