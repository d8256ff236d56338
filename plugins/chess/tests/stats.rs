//! Measurements, not checks (`cargo test --release -p w2s-chess --test stats -- --ignored
//! --nocapture`): generation statistics at the default settings (into the real cache, so the
//! presets reuse them; `W2S_CHESS_N` positions, default 200), the speed-up of 2 workers over 1,
//! and the accuracy of a ladder of engine rungs.

use w2s_chess::data::{
    generate::{generate, worker_speedup},
    positions::{GenContext, GenSettings, Source},
};
use w2s_chess::labeler::{ladder_report, EngineLabelerParams};
use w2s_chess::tasks::{ChessMovePairs, ChessPuzzles, ChessPuzzlesParams};
use w2s_core::{Env, Task};

fn n_positions() -> usize {
    std::env::var("W2S_CHESS_N").ok().and_then(|v| v.parse().ok()).unwrap_or(200)
}

#[test]
#[ignore]
fn generation_statistics() {
    let env = Env::from_env();
    let ctx = GenContext::from_env(&env).unwrap();
    let (recs, stats) =
        generate(&ctx, &GenSettings::default(), n_positions(), w2s_chess::engine::pool::workers(None)).unwrap();
    println!("{} positions; {stats}", recs.len());
    println!("rejections: {:?}", stats.reasons);
}

#[test]
#[ignore]
fn two_workers_over_one() {
    let env = Env::from_env();
    let ctx = GenContext { show_progress: false, ..GenContext::from_env(&env).unwrap() };
    let s = GenSettings { sources: vec![Source::Playouts], depth: 10, ..Default::default() };
    let (t1, t2, speedup) = worker_speedup(&ctx, &s, 40).unwrap();
    println!("40 playout positions at depth 10: 1 worker {t1:.1} s, 2 workers {t2:.1} s, speed-up {speedup:.2}x");
}

#[test]
#[ignore]
fn engine_ladder() {
    let env = Env::from_env();
    let n = n_positions();
    let p = ChessPuzzlesParams { n_train: n.saturating_sub(n / 2).max(2), n_test: n / 2, ..Default::default() };
    let data = ChessPuzzles::new(p.clone()).unwrap().load(&env).unwrap();
    let e = |f: fn(&mut EngineLabelerParams)| {
        let mut r = EngineLabelerParams::default();
        f(&mut r);
        r
    };
    let rungs = vec![
        e(|r| r.depth = Some(1)),
        e(|r| r.depth = Some(2)),
        e(|r| r.depth = Some(4)),
        e(|r| r.depth = Some(8)),
        e(|r| r.nodes = Some(100)),
        e(|r| r.nodes = Some(1000)),
        e(|r| r.skill = Some(0)),
        e(|r| r.skill = Some(5)),
        e(|r| r.skill = Some(10)),
        e(|r| r.elo = Some(1350)),
        e(|r| r.elo = Some(2000)),
    ];
    println!("chess-puzzles test set ({} positions):", data.test.len());
    ladder_report(&env, &data, &rungs, 0).unwrap();
    let pairs = ChessMovePairs::new(p.pairs()).unwrap().load(&env).unwrap();
    println!("chess-move-pairs test set ({} pairs):", pairs.test.len());
    ladder_report(&env, &pairs, &rungs, 0).unwrap();
}
