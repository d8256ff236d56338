//! `w2s bench`: MiniLM fine-tuning throughput (examples/s, tokens/s) and achieved GFLOP/s as a
//! fraction of the fp32 matmul peak measured in the same process; then the same figures for
//! training the largest `chess-net` (positions/s).

use std::time::Instant;

use tch::{nn::OptimizerConfig, Device, Kind, Tensor};
use w2s_builtin::{
    backbones::minilm::{MiniLm, MiniLmParams},
    models::options::Mode,
};
use w2s_core::objective::xent_step;
use w2s_core::{Env, Inputs, Model, Task};
use w2s_runtime::train::one_hot;

/// Figures printed by the benchmark.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchReport {
    pub threads: i32,
    pub matmul_peak_gflops: f64,
    pub batch: usize,
    pub steps: usize,
    pub examples_per_s: f64,
    pub tokens_per_s: f64,
    pub padded_tokens_per_s: f64,
    pub train_gflops: f64,
    pub fraction_of_peak: f64,
    pub peak_rss_mib: f64,
    /// Training the largest `chess-net` on random positions (see `w2s_chess::bench`).
    pub chess: w2s_chess::bench::ChessBench,
    pub chess_fraction_of_peak: f64,
}

/// Batch of the `chess-net` part of the benchmark.
pub const CHESS_BATCH: usize = 512;
/// Timed steps per round of the `chess-net` part.
pub const CHESS_STEPS: usize = 10;

/// fp32 matmul peak: the best of a few timed rounds of n×n products.
pub fn matmul_peak_gflops(n: i64, reps: usize) -> f64 {
    let a = Tensor::randn([n, n], (Kind::Float, Device::Cpu));
    let b = Tensor::randn([n, n], (Kind::Float, Device::Cpu));
    let _ = a.matmul(&b);
    let mut best: f64 = 0.0;
    for _ in 0..3 {
        let t = Instant::now();
        for _ in 0..reps {
            let _ = a.matmul(&b);
        }
        let s = t.elapsed().as_secs_f64();
        best = best.max(2.0 * (n * n * n) as f64 * reps as f64 / s / 1e9);
    }
    best
}

/// Peak resident memory of this process (VmHWM), in MiB.
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l.to_string()))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Check `--batch` and `--steps` against the `available` training sentences: the benchmark
/// uses `batch × (steps + 2 warm-up)` distinct sentences.
pub fn check_size(batch: usize, steps: usize, available: usize) -> anyhow::Result<()> {
    anyhow::ensure!(batch >= 1, "--batch: expected at least 1, got {batch}");
    anyhow::ensure!(steps >= 1, "--steps: expected at least 1, got {steps}");
    let need = batch.saturating_mul(steps.saturating_add(2));
    if need > available {
        let max_steps = (available / batch).saturating_sub(2);
        if max_steps == 0 {
            anyhow::bail!(
                "--batch {batch}: expected at most {} (3 batches, 2 of them warm-up, must fit in the {available} \
                 training sentences of `sentiment`)",
                available / 3
            );
        }
        anyhow::bail!(
            "--steps {steps}: expected at most {max_steps} with --batch {batch} ({batch} × ({steps} + 2 warm-up) = \
             {need} sentences, but `sentiment` has {available} training sentences)"
        );
    }
    Ok(())
}

/// Fine-tune MiniLM for `steps` batches of real sentiment sentences and time it.
pub fn run(env: &Env, batch: usize, steps: usize) -> anyhow::Result<BenchReport> {
    let task = w2s_tasks::sentiment::Sentiment::new(Default::default())?;
    let data = task.load(env)?;
    check_size(batch, steps, data.train.len())?;
    let peak = matmul_peak_gflops(1024, 20);
    let backbone = MiniLm::new(MiniLmParams { mode: Mode::Full, ..Default::default() })?;
    let dir = backbone.folder(env)?;
    let mut model = backbone.load(env, &dir, 2)?;
    let n = batch * (steps + 2);
    let texts: Vec<&str> = data.train[..n].iter().map(|e| e.text.as_str()).collect();
    let inputs = model.encode(&texts, env)?;
    let Inputs::Tokens(tokens) = &inputs else { anyhow::bail!("expected tokens") };
    let targets = Tensor::from_slice(&one_hot(data.train[..n].iter().map(|e| e.label), 2).concat()).view([n as i64, 2]);
    let mut opt = tch::nn::Adam::default().build(model.var_store(), 5e-5)?;
    // The batches training uses: grouped by length within windows, so padding stays small.
    let batches = w2s_runtime::train::epoch_batches(inputs.len(), |i| inputs.row_cost(i), batch, 0);
    anyhow::ensure!(batches.len() >= steps + 2, "{} batches of {batch} for {steps} + 2 steps", batches.len());
    let step = |rows: &[usize], opt: &mut tch::nn::Optimizer, model: &dyn Model| {
        xent_step(model, &inputs, &targets, rows, opt)
    };
    // Two warm-up steps, then the timed ones.
    for rows in &batches[..2] {
        step(rows, &mut opt, &model)?;
    }
    let (mut real, mut padded, mut flops) = (0usize, 0usize, 0.0f64);
    let cfg = w2s_builtin::models::arch::bert::BertConfig::default();
    let t = Instant::now();
    for rows in &batches[2..2 + steps] {
        let len = rows.iter().map(|&r| tokens[r].len()).max().unwrap_or(0) as i64;
        real += rows.iter().map(|&r| tokens[r].len()).sum::<usize>();
        padded += rows.len() * len as usize;
        // forward MACs per token of the encoder (matmuls incl. attention) and of the head;
        // training ≈ 3 × forward; 2 FLOPs per MAC.
        let macs = cfg.macs_per_token(len) as f64 * (rows.len() as i64 * len) as f64;
        flops += 3.0 * 2.0 * macs;
        step(rows, &mut opt, &model)?;
    }
    let secs = t.elapsed().as_secs_f64();
    let train_gflops = flops / secs / 1e9;
    let chess = w2s_chess::bench::train_throughput(w2s_chess::chess_net::ChessSize::Large, CHESS_BATCH, CHESS_STEPS)?;
    let chess_fraction_of_peak = chess.train_gflops / peak;
    Ok(BenchReport {
        threads: tch::get_num_threads(),
        matmul_peak_gflops: peak,
        batch,
        steps,
        examples_per_s: (steps * batch) as f64 / secs,
        tokens_per_s: real as f64 / secs,
        padded_tokens_per_s: padded as f64 / secs,
        train_gflops,
        fraction_of_peak: train_gflops / peak,
        peak_rss_mib: peak_rss_mib(),
        chess,
        chess_fraction_of_peak,
    })
}

#[cfg(test)]
mod tests {
    use super::check_size;

    #[test]
    fn sizes_beyond_the_data_are_errors_naming_the_argument() {
        check_size(32, 123, 4000).unwrap();
        let err = check_size(32, 124, 4000).unwrap_err().to_string();
        assert!(err.starts_with("--steps 124: expected at most 123 with --batch 32"), "{err}");
        let err = check_size(2000, 1, 4000).unwrap_err().to_string();
        assert!(err.starts_with("--batch 2000: expected at most 1333"), "{err}");
        assert!(check_size(usize::MAX, usize::MAX, 4000).is_err());
        assert!(check_size(0, 1, 4000).unwrap_err().to_string().starts_with("--batch"));
        assert!(check_size(1, 0, 4000).unwrap_err().to_string().starts_with("--steps"));
    }
}
