//! `w2s bench-features [--model M]`: frozen-feature extraction of a pretrained backbone
//! (`smollm2`, the default, `gemma3`, `minilm`, `mpnet`; issue #3's and #13's figures).
//! - extraction throughput in tokens/s and as a fraction of the fp32 matmul peak measured in the
//!   same process (forward FLOPs = 2 × the blocks' weight-matrix elements per token, read from
//!   the checkpoint, plus attention's 2 × 2 × len × width; embeddings and the head not counted);
//! - the process's peak resident memory (one model per process, so it is that model's);
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
    pub model: String,
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
    pub peak_memory_mib: f64,
}

/// What one token's forward pass through `model` (cut to `layers`) multiplies: the blocks'
/// weight-matrix elements, the attention width and the number of blocks, from the checkpoint's
/// header (GGUF decoders) or `config.json` (BERT-type encoders: 4 d² + 2 d·ffn per layer).
fn forward_shape(model: &str, env: &Env, layers: Option<usize>) -> anyhow::Result<(f64, f64, usize)> {
    use w2s_builtin::backbones::smollm2::{GEMMA3, SMOLLM2};
    let gguf = match model {
        "smollm2" => Some(&SMOLLM2),
        "gemma3" => Some(&GEMMA3),
        _ => None,
    };
    if let Some(d) = gguf {
        let g = w2s_models::format::gguf::Gguf::open_header(&env.asset_dir(d.asset)?.join(d.file))?;
        let (matmul, width, blocks) = w2s_models::load::gguf_decoder::forward_shape(&g, layers)?;
        return Ok((matmul as f64, width as f64, blocks));
    }
    let path = env.asset_dir(model)?.join("config.json");
    let cfg: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    let get = |k: &str| cfg[k].as_f64().ok_or_else(|| anyhow::anyhow!("{}: no number `{k}`", path.display()));
    let (d, ffn, n) = (get("hidden_size")?, get("intermediate_size")?, get("num_hidden_layers")? as usize);
    Ok((n as f64 * (4.0 * d * d + 2.0 * d * ffn), d, n))
}

/// Forward FLOPs per token of a text of `len` tokens: 2 per weight-matrix element, and the
/// scores and weighted sum (2 × len × width multiply-adds per block).
fn forward_flops_per_token(shape: (f64, f64, usize), len: f64) -> f64 {
    let (matmul, width, blocks) = shape;
    2.0 * matmul + blocks as f64 * 2.0 * 2.0 * len * width
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

/// The backbones this benchmark knows the shape of; the decoders among them.
pub const MODELS: [&str; 4] = ["smollm2", "gemma3", "minilm", "mpnet"];
const DECODERS: [&str; 2] = ["smollm2", "gemma3"];

/// Run the benchmark on `n` sentiment sentences with `model` (decoders cut to `layers` blocks).
pub fn run(
    registry: &Registry,
    env: &Env,
    model: &str,
    n: usize,
    layers: Option<usize>,
    train_batch: usize,
    precision: &str,
) -> anyhow::Result<FeatureBench> {
    anyhow::ensure!(MODELS.contains(&model), "--model {model}: expected one of {}", MODELS.join(", "));
    let decoder = DECODERS.contains(&model);
    anyhow::ensure!(decoder || layers.is_none(), "--layers is for the decoders ({})", DECODERS.join(", "));
    anyhow::ensure!(decoder || precision == "f32", "--precision is for the decoders ({})", DECODERS.join(", "));
    let total = forward_shape(model, env, None)?.2;
    if let Some(l) = layers {
        anyhow::ensure!(l <= total, "--layers {l}: expected at most {total} (the blocks of {model})");
    }
    let shape = forward_shape(model, env, layers)?;
    let peak = crate::bench::matmul_peak_gflops(1024, 20);
    let task = w2s_tasks::sentiment::Sentiment::new(Default::default())?;
    let data = task.load(env)?;
    let n = n.min(data.train.len());
    let examples: Vec<&w2s_core::Example> = data.train[..n].iter().collect();
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
    let (mut probe, mut full) = (Spec::new(model).with("mode", "probe"), Spec::new(model).with("mode", "full"));
    if decoder {
        // share_depths [] : time the extraction of this one depth only.
        probe = probe.with("share_depths", serde_json::json!([])).with("precision", precision);
        if let Some(l) = layers {
            (probe, full) = (probe.with("layers", l), full.with("layers", l));
        }
    }

    // Token lengths, for the padding figures and the FLOP count.
    let tokens = match registry.backbone(&full)?.build(env, 2)?.encode(&texts, env)? {
        Inputs::Tokens(t) => t,
        Inputs::Features(_) => anyhow::bail!("{model} in full mode should give tokens"),
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
    let mut probe_model = backbone.build(&cold_env, 2)?;
    let t = Instant::now();
    let _ = probe_model.encode(&texts, &cold_env)?;
    let extraction = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let _ = probe_model.encode(&texts, &cold_env)?;
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

    let flops: f64 = tokens.iter().map(|t| forward_flops_per_token(shape, t.len() as f64) * t.len() as f64).sum();
    let gflops = flops / extraction / 1e9;
    Ok(FeatureBench {
        model: model.to_string(),
        threads: tch::get_num_threads(),
        matmul_peak_gflops: peak,
        precision: precision.to_string(),
        texts: n,
        layers: shape.2,
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
        peak_memory_mib: crate::bench::peak_rss_mib(),
    })
}

/// The report as the terminal shows it.
pub fn render(r: &FeatureBench) -> String {
    [
        format!("threads                       {}", r.threads),
        format!("fp32 matmul peak              {:.1} GFLOP/s", r.matmul_peak_gflops),
        format!("{}@{} feature extraction {} texts, {} tokens, {}", r.model, r.layers, r.texts, r.tokens, r.precision),
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
        format!("peak memory (this process)    {:.0} MiB", r.peak_memory_mib),
        format!(
            "training batches of {:>3}       {:.1}% padded tokens (length-grouped)",
            r.train_batch,
            100.0 * r.train_padding_fraction
        ),
    ]
    .join("\n")
}
