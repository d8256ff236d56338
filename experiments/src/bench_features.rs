//! `w2s bench-features`: frozen-feature extraction with SmolLM2 (issue #3's figures).
//! - extraction throughput in tokens/s and as a fraction of the fp32 matmul peak measured in the
//!   same process (forward FLOPs = 2 × the trunk's matmul parameters per token, plus attention);
//! - cache reuse: the same probe-mode encode + head training with an empty feature cache and
//!   again on the cached activations, and their ratio;
//! - padding: the share of padded tokens in the length-grouped training batches of `sentiment`
//!   (and in the sorted extraction batches).
//!
//! The cold pass runs in a fresh cache folder whose `assets` link to the real ones, so the user's
//! feature cache is neither used nor touched.

use std::time::Instant;

use w2s_core::{objective::SoftXent, Env, Inputs, Registry, Spec, Task, TrainConfig};
use w2s_runtime::train;

/// Figures printed by the benchmark.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FeatureBench {
    pub threads: i32,
    pub matmul_peak_gflops: f64,
    pub precision: String,
    pub texts: usize,
    pub layers: usize,
    pub tokens: usize,
    pub extraction_seconds: f64,
    pub tokens_per_s: f64,
    pub extraction_gflops: f64,
    pub extraction_fraction_of_peak: f64,
    pub cached_encode_seconds: f64,
    pub head_training_seconds: f64,
    pub cold_run_seconds: f64,
    pub warm_run_seconds: f64,
    pub cache_speedup: f64,
    pub train_batch: usize,
    pub train_padding_fraction: f64,
    pub extraction_padding_fraction: f64,
}

/// SmolLM2-135M's shape (see shared/design/assets.md): per block, q and o are d×d, k and v are
/// d×(kv heads × head dim), the SwiGLU MLP is three d×ffn matrices.
const D: f64 = 576.0;
const KV: f64 = 3.0 * 64.0;
const FFN: f64 = 1536.0;
const BLOCKS: usize = 30;

fn forward_flops_per_token(layers: usize, len: f64) -> f64 {
    let matmul_params = 2.0 * D * D + 2.0 * D * KV + 3.0 * D * FFN;
    // scores and weighted sum: 2 × len × d multiply-adds per token per block
    layers as f64 * 2.0 * (matmul_params + 2.0 * len * D)
}

fn padding(tokens: &[Vec<i64>], batches: &[Vec<usize>]) -> f64 {
    let (mut real, mut computed) = (0usize, 0usize);
    for b in batches {
        let max = b.iter().map(|&r| tokens[r].len()).max().unwrap_or(0);
        real += b.iter().map(|&r| tokens[r].len()).sum::<usize>();
        computed += max * b.len();
    }
    1.0 - real as f64 / computed.max(1) as f64
}

/// Run the benchmark on `n` sentiment sentences with SmolLM2 cut to `layers` blocks.
pub fn run(
    registry: &Registry,
    env: &Env,
    n: usize,
    layers: usize,
    train_batch: usize,
    precision: &str,
) -> anyhow::Result<FeatureBench> {
    let peak = crate::bench::matmul_peak_gflops(1024, 20);
    let task = w2s_tasks::sentiment::Sentiment::new(Default::default())?;
    let data = task.load(env)?;
    let n = n.min(data.train.len());
    let examples: Vec<&w2s_core::Example> = data.train[..n].iter().collect();
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
    let layers = layers.clamp(1, BLOCKS);
    // share_depths [] : time the extraction of this one depth only.
    let probe = Spec::new("smollm2")
        .with("layers", layers)
        .with("mode", "probe")
        .with("share_depths", serde_json::json!([]))
        .with("precision", precision);
    let full = Spec::new("smollm2").with("layers", layers).with("mode", "full");

    // Token lengths, for the padding figures and the FLOP count.
    let tokens = match registry.backbone(&full)?.build(env, 2)?.encode(&texts, env)? {
        Inputs::Tokens(t) => t,
        Inputs::Features(_) => anyhow::bail!("smollm2 in full mode should give tokens"),
    };
    let n_tokens: usize = tokens.iter().map(|t| t.len()).sum();
    // A batch beyond n gives the same one batch as n (and would overflow the grouping window).
    let train_batches = train::epoch_batches(n, |i| tokens[i].len(), train_batch.min(n.max(1)), 0);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| tokens[i].len());
    let extraction_batches: Vec<Vec<usize>> = order.chunks(64).map(|c| c.to_vec()).collect();

    // A fresh cache folder sharing the fetched assets.
    let tmp = tempfile::tempdir()?;
    std::os::unix::fs::symlink(env.cache_dir.join("assets"), tmp.path().join("assets"))?;
    let cold_env = Env { cache_dir: tmp.path().to_path_buf(), show_progress: env.show_progress, ..env.clone() };
    let backbone = registry.backbone(&probe)?;
    let targets = train::one_hot(examples.iter().map(|e| e.label), 2);
    let cfg = TrainConfig { epochs: 2, batch_size: 32, lr: 1e-3, eval_every: 0, ..Default::default() };
    let test: Vec<&w2s_core::Example> = data.test[..200.min(data.test.len())].iter().collect();
    let job = |role| train::Job {
        role,
        backbone: backbone.as_ref(),
        n_classes: 2,
        train: &examples,
        targets: &targets,
        test: &test,
        also_predict: None,
        record: None,
        cfg: &cfg,
        seed: 0,
    };

    // Cold: extraction (timed on its own), then the whole probe run from an empty cache.
    let mut model = backbone.build(&cold_env, 2)?;
    let t = Instant::now();
    let _ = model.encode(&texts, &cold_env)?;
    let extraction = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let _ = model.encode(&texts, &cold_env)?;
    let cached_encode = t.elapsed().as_secs_f64();
    // The full run on a second fresh cache: encode (extract) + train the head + predict.
    let tmp2 = tempfile::tempdir()?;
    std::os::unix::fs::symlink(env.cache_dir.join("assets"), tmp2.path().join("assets"))?;
    let cold_env2 = Env { cache_dir: tmp2.path().to_path_buf(), ..cold_env.clone() };
    let t = Instant::now();
    train::train_and_predict(&cold_env2, &job("cold"), &mut SoftXent)?;
    let cold_run = t.elapsed().as_secs_f64();
    let t = Instant::now();
    train::train_and_predict(&cold_env2, &job("warm"), &mut SoftXent)?;
    let warm_run = t.elapsed().as_secs_f64();

    let flops: f64 = tokens.iter().map(|t| forward_flops_per_token(layers, t.len() as f64) * t.len() as f64).sum();
    let gflops = flops / extraction / 1e9;
    Ok(FeatureBench {
        threads: tch::get_num_threads(),
        matmul_peak_gflops: peak,
        precision: precision.to_string(),
        texts: n,
        layers,
        tokens: n_tokens,
        extraction_seconds: extraction,
        tokens_per_s: n_tokens as f64 / extraction,
        extraction_gflops: gflops,
        extraction_fraction_of_peak: gflops / peak,
        cached_encode_seconds: cached_encode,
        head_training_seconds: warm_run - cached_encode,
        cold_run_seconds: cold_run,
        warm_run_seconds: warm_run,
        cache_speedup: cold_run / warm_run,
        train_batch,
        train_padding_fraction: padding(&tokens, &train_batches),
        extraction_padding_fraction: padding(&tokens, &extraction_batches),
    })
}

/// The report as the terminal shows it.
pub fn render(r: &FeatureBench) -> String {
    [
        format!("threads                       {}", r.threads),
        format!("fp32 matmul peak              {:.1} GFLOP/s", r.matmul_peak_gflops),
        format!("SmolLM2@{} feature extraction {} texts, {} tokens, {}", r.layers, r.texts, r.tokens, r.precision),
        format!("  time                        {:.2} s = {:.0} tokens/s", r.extraction_seconds, r.tokens_per_s),
        format!(
            "  achieved                    {:.1} GFLOP/s = {:.1}% of peak",
            r.extraction_gflops,
            100.0 * r.extraction_fraction_of_peak
        ),
        format!("  padding (sorted batches)    {:.1}% of computed tokens", 100.0 * r.extraction_padding_fraction),
        format!("probe run, empty cache        {:.2} s", r.cold_run_seconds),
        format!(
            "probe run, cached features    {:.2} s (encode {:.3} s, head {:.2} s)",
            r.warm_run_seconds, r.cached_encode_seconds, r.head_training_seconds
        ),
        format!("  cache speed-up              {:.1}x", r.cache_speedup),
        format!(
            "training batches of {:>3}       {:.1}% padded tokens (length-grouped)",
            r.train_batch,
            100.0 * r.train_padding_fraction
        ),
    ]
    .join("\n")
}
