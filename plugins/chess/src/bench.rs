//! Training throughput of `chess-net`: positions/s and achieved GFLOP/s, to compare with the fp32
//! matmul peak that `w2s bench` measures in the same process.
//!
//! The positions are reached by seeded random play from the start (so move counts are those of
//! real games, ~30–40); each step is what training does: the model's `logits` on a batch (which
//! builds the one-hot inputs and gathers the move embeddings), soft cross-entropy against a
//! legal move, Adam. FLOPs are counted as 3 × the forward matmuls
//! ([`crate::chess_net::ChessNetConfig::forward_flops`]), LayerNorms and activations not counted.

use std::time::Instant;

use cozy_chess::Board;
use tch::{nn::OptimizerConfig, Device, Tensor};
use w2s_core::objective::xent_step;
use w2s_core::{Env, Inputs, Model};

use crate::{
    board::moves,
    chess_net::{ChessModel, ChessSize},
};

/// Figures of one throughput measurement.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChessBench {
    pub size: String,
    pub parameters: i64,
    pub batch: usize,
    pub steps: usize,
    /// Output slots (largest legal-move count among the positions).
    pub n_classes: usize,
    pub positions_per_s: f64,
    pub train_gflops: f64,
}

/// `n` positions from seeded random games (each 0–79 plies from the start, never a finished
/// game), as FENs.
pub fn random_positions(n: usize, seed: u64) -> Vec<String> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let mut board = Board::startpos();
        let plies = next() % 80;
        for _ in 0..plies {
            let legal = moves::legal_moves(&board);
            let mv = legal[(next() % legal.len() as u64) as usize];
            board.play_unchecked(mv);
            if moves::legal_moves(&board).is_empty() {
                break;
            }
        }
        if !moves::legal_moves(&board).is_empty() {
            out.push(format!("{board}"));
        }
    }
    out
}

/// Train `size` on batches of `batch` random positions: two warm-up steps, then the fastest of
/// three rounds of `steps` steps.
pub fn train_throughput(size: ChessSize, batch: usize, steps: usize) -> anyhow::Result<ChessBench> {
    anyhow::ensure!(batch >= 1 && steps >= 1, "chess-net throughput: batch and steps must be at least 1");
    let env = Env { cache_dir: std::env::temp_dir(), device: Device::Cpu, show_progress: false };
    let n = batch * (steps + 2);
    let fens = random_positions(n, 7);
    let n_moves: Vec<usize> =
        fens.iter().map(|f| moves::legal_moves_uci(f).map(|m| m.len())).collect::<anyhow::Result<_>>()?;
    let n_classes = *n_moves.iter().max().unwrap_or(&1);
    let config = size.config();
    let mut model = ChessModel::new(Device::Cpu, config, n_classes)?;
    let texts: Vec<&str> = fens.iter().map(|s| s.as_str()).collect();
    let inputs: Inputs = model.encode(&texts, &env)?;
    let mut target = vec![0f32; n * n_classes];
    for (i, &k) in n_moves.iter().enumerate() {
        target[i * n_classes + (i * 7919) % k] = 1.0;
    }
    let targets = Tensor::from_slice(&target).view([n as i64, n_classes as i64]);
    let mut opt = tch::nn::Adam::default().build(model.var_store(), 1e-4)?;
    let batches: Vec<Vec<usize>> = (0..n).collect::<Vec<_>>().chunks(batch).map(|c| c.to_vec()).collect();
    let mut step = |rows: &[usize]| xent_step(&model, &inputs, &targets, rows, &mut opt);
    for rows in &batches[..2] {
        step(rows)?;
    }
    // The best of three timed rounds (as the matmul peak is), so that a busy machine's other
    // work disturbs the figure less.
    let mut secs = f64::INFINITY;
    for _ in 0..3 {
        let t = Instant::now();
        for rows in &batches[2..] {
            step(rows)?;
        }
        secs = secs.min(t.elapsed().as_secs_f64());
    }
    let positions = (batch * steps) as f64;
    // Scoring cost is that of the padded slots: every row scores n_classes moves.
    let flops = 3.0 * config.forward_flops(n_classes as i64) * positions;
    Ok(ChessBench {
        size: size.name().to_string(),
        parameters: config.parameters(),
        batch,
        steps,
        n_classes,
        positions_per_s: positions / secs,
        train_gflops: flops / secs / 1e9,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_positions_are_legal_and_varied() {
        let fens = random_positions(50, 1);
        assert_eq!(fens, random_positions(50, 1));
        let mut distinct = fens.clone();
        distinct.sort();
        distinct.dedup();
        assert!(distinct.len() > 40);
        for f in &fens {
            assert!(!moves::legal_moves_uci(f).unwrap().is_empty(), "{f}");
        }
    }

    #[test]
    fn tiny_throughput_runs() {
        let r = train_throughput(ChessSize::Tiny, 16, 2).unwrap();
        assert!(r.positions_per_s > 0.0 && r.train_gflops > 0.0, "{r:?}");
    }

    /// `CHESS_SIZE=large CHESS_BATCH=512 cargo test --release -p w2s-chess bench_every_size -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn bench_every_size() {
        let n = 1024;
        let a = Tensor::randn([n, n], (tch::Kind::Float, Device::Cpu));
        let _ = a.matmul(&a);
        let mut peak: f64 = 0.0;
        for _ in 0..3 {
            let t = Instant::now();
            for _ in 0..20 {
                let _ = a.matmul(&a);
            }
            peak = peak.max(2.0 * (n * n * n) as f64 * 20.0 / t.elapsed().as_secs_f64() / 1e9);
        }
        println!("threads {} peak {peak:.1} GFLOP/s", tch::get_num_threads());
        let batch: usize = std::env::var("CHESS_BATCH").ok().and_then(|b| b.parse().ok()).unwrap_or(256);
        let only = std::env::var("CHESS_SIZE").ok();
        for size in ChessSize::ALL.into_iter().filter(|s| only.as_deref().is_none_or(|o| o == s.name())) {
            let r = train_throughput(size, batch, 20).unwrap();
            println!("{r:?} -> {:.1}% of peak", 100.0 * r.train_gflops / peak);
        }
    }
}
