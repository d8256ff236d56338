//! Tests of the `smollm2` backbone on the fetched SmolLM2 GGUF: probe features and their cache,
//! shared depths, full and `top` training, generative adaptation, bf16, over-long texts, and the
//! language model (`w2s_models::heads::lm`) behind it.

use w2s_core::Inputs;
use w2s_models::{
    options::{Precision, TooLong},
    testing::peak_rss_mib,
};

use super::*;

/// Micro-benchmark (issue #10 item 15): `build` + `encode` of a `smollm2` probe (layers 2,
/// the default `share_depths`) whose features of 1,000 texts are all cached. The first run
/// (in `$W2S_BENCH_DIR`, default a fixed folder under /tmp) fills the cache and stops; the
/// next runs time three build + encode rounds and report this process's peak RSS.
/// `cargo test --release -p w2s-builtin bench_cached_probe -- --ignored --nocapture`
#[test]
#[ignore]
fn bench_cached_probe_build_and_encode() {
    let dir = PathBuf::from(std::env::var("W2S_BENCH_DIR").unwrap_or("/tmp/w2s-bench-smollm2".into()));
    std::fs::create_dir_all(&dir).unwrap();
    let assets = dir.join("assets");
    if !assets.exists() {
        std::os::unix::fs::symlink(Env::from_env().cache_dir.join("assets"), &assets).unwrap();
    }
    let env = Env { cache_dir: dir.clone(), show_progress: false, ..Env::from_env() };
    let texts: Vec<String> = (0..1000).map(|i| format!("review {i}: a fine film")).collect();
    let texts: Vec<&str> = texts.iter().map(|t| t.as_str()).collect();
    let params = SmolLm2Params { layers: Some(2), max_len: 16, ..Default::default() };
    let backbone = SmolLm2::new(params).unwrap();
    let warm = dir.join("warm");
    if !warm.exists() {
        backbone.build(&env, 2).unwrap().encode(&texts, &env).unwrap();
        std::fs::write(&warm, "").unwrap();
        println!("cache filled; run again to time");
        return;
    }
    let mut times = Vec::new();
    for _ in 0..3 {
        let t = std::time::Instant::now();
        let mut m = backbone.build(&env, 2).unwrap();
        let Inputs::Features(f) = m.encode(&texts, &env).unwrap() else { panic!("features") };
        assert_eq!(f.size(), [1000, 576]);
        times.push(t.elapsed().as_secs_f64());
    }
    println!(
        "cached smollm2 probe (layers 2), build + encode of 1000 texts: {:.3} / {:.3} / {:.3} s, peak RSS {:.0} MiB",
        times[0],
        times[1],
        times[2],
        peak_rss_mib()
    );
}

#[test]
fn probe_features_are_the_last_real_token_and_cached() {
    let env = Env { show_progress: false, ..Env::from_env() };
    let params = SmolLm2Params { layers: Some(2), ..Default::default() };
    params.validate().unwrap();
    let backbone = SmolLm2::new(params).unwrap();
    let mut model = backbone.build(&env, 3).unwrap();
    let texts = ["a short one", "a somewhat longer text with more tokens in it", "a short one"];
    let Inputs::Features(f) = model.encode(&texts, &env).unwrap() else { panic!("probe gives features") };
    assert_eq!(f.size(), [3, 576]);
    // The same text alone or batched with a longer one (right padding): the same features.
    let diff = (f.get(0) - f.get(2)).abs().max().double_value(&[]);
    assert!(diff < 1e-4, "{diff}");
    let again = model.encode(&texts, &env).unwrap();
    let Inputs::Features(g) = again else { panic!() };
    assert!(f.equal(&g));
    // The zero head gives zero logits; only the head trains.
    let logits = model.logits(&Inputs::Features(f), &[0, 1], true).unwrap();
    assert_eq!(logits.size(), [2, 3]);
    assert_eq!(logits.abs().sum(tch::Kind::Float).double_value(&[]), 0.0);
    assert_eq!(model.var_store().trainable_variables().len(), 1);
}

#[test]
fn a_fully_cached_probe_reads_no_weights() {
    // A GGUF cut after its first 8 MiB: the whole header (metadata, tokenizer, tensor infos)
    // but not the weights, so loading the trunk fails. Its features of two texts are cached
    // (under the key and settings the backbone uses): build + encode must not touch the weights.
    let dir = tempfile::tempdir().unwrap();
    let real = Env::from_env().asset_dir("smollm2").unwrap().join(SMOLLM2_FILE);
    let file = dir.path().join("header-only.gguf");
    let bytes = std::fs::read(&real).unwrap();
    std::fs::write(&file, &bytes[..8 << 20]).unwrap();
    let env = Env { cache_dir: dir.path().join("cache"), show_progress: false, ..Env::from_env() };
    let params = SmolLm2Params { path: file.display().to_string(), layers: Some(2), max_len: 16, ..Default::default() };
    let backbone = SmolLm2::new(params).unwrap();
    let texts = ["one text", "and another"];
    let key = backbone.cache_key(&file, 2, 30);
    let cached = tch::Tensor::arange(2 * 576, tch::kind::FLOAT_CPU).view([2, 576]) / 1000.0;
    w2s_models::feature_bank::store_rows(&key, "16|last", &texts, &cached, &env).unwrap();
    let mut model = backbone.build(&env, 2).unwrap();
    let Inputs::Features(f) = model.encode(&texts, &env).unwrap() else { panic!("probe gives features") };
    assert!(f.equal(&cached), "the cached features");
    // A miss loads the weights, which this file lacks: an error naming the file, not a panic.
    let err = format!("{:#}", model.encode(&["a text not cached"], &env).err().unwrap());
    assert!(err.contains("header-only.gguf") && err.contains("beyond the end of the file"), "{err}");
}

#[test]
fn full_mode_trains_everything_and_bad_params_are_refused() {
    let env = Env { show_progress: false, ..Env::from_env() };
    let params = SmolLm2Params { layers: Some(1), mode: Mode::Full, max_len: 8, ..Default::default() };
    let mut model = SmolLm2::new(params).unwrap().build(&env, 2).unwrap();
    let inputs = model.encode(&["one", "two words"], &env).unwrap();
    assert!(matches!(inputs, Inputs::Tokens(_)));
    assert_eq!(model.logits(&inputs, &[0, 1], true).unwrap().size(), [2, 2]);
    // Embeddings, 9 per block, the final norm, and the head.
    assert_eq!(model.var_store().trainable_variables().len(), 1 + 9 + 1 + 1);
    assert!(SmolLm2Params { layers: Some(0), ..Default::default() }.validate().is_err());
    let missing = SmolLm2Params { path: "/nonexistent/model.gguf".into(), ..Default::default() };
    let err = SmolLm2::new(missing).unwrap().build(&env, 2).err().unwrap().to_string();
    assert!(err.contains("/nonexistent/model.gguf"), "{err}");
}

#[test]
fn one_pass_writes_the_features_of_shared_depths() {
    let dir = tempfile::tempdir().unwrap();
    let file = Env::from_env().asset_dir("smollm2").unwrap().join(SMOLLM2_FILE).display().to_string();
    let env_in = |sub: &str| Env { cache_dir: dir.path().join(sub), show_progress: false, ..Env::from_env() };
    let texts = ["one text", "and a second, longer text"];
    let params = |layers, share: Vec<usize>| SmolLm2Params {
        path: file.clone(),
        layers: Some(layers),
        share_depths: Some(share),
        max_len: 16,
        ..Default::default()
    };
    let features = |env: &Env, p: SmolLm2Params| {
        let Inputs::Features(f) = SmolLm2::new(p).unwrap().build(env, 2).unwrap().encode(&texts, env).unwrap() else {
            panic!("probe gives features")
        };
        f
    };
    let env = env_in("shared");
    let files = || w2s_models::feature_bank::chunks(&env).unwrap();
    let f4 = features(&env, params(4, vec![2, 4]));
    assert_eq!(files(), 2, "depths 4 and 2 written by one pass");
    // Depth 2 reads what the depth-4 pass wrote, and equals a cold depth-2 pass.
    let f2 = features(&env, params(2, vec![]));
    assert_eq!(files(), 2);
    let cold = features(&env_in("cold"), params(2, vec![]));
    let diff = (&f2 - &cold).abs().max().double_value(&[]);
    assert!(diff < 1e-5, "shared depth-2 features differ from a cold pass by {diff}");
    assert!((&f4 - &f2).abs().max().double_value(&[]) > 1e-3, "depths 4 and 2 differ");
    // Bad shares: deeper than the model, or outside probe mode.
    let err = SmolLm2::new(params(2, vec![31])).unwrap().build(&env, 2).err().unwrap().to_string();
    assert!(err.contains("share_depths has 31") && err.contains("30 blocks"), "{err}");
    let full = SmolLm2Params { mode: Mode::Full, ..params(2, vec![2]) };
    assert!(full.validate().unwrap_err().to_string().contains("share_depths"));
    let top = SmolLm2Params { mode: Mode::Top, top_k: Some(3), layers: Some(2), ..Default::default() };
    assert!(top.validate().unwrap_err().to_string().contains("top_k"));
}

#[test]
fn generative_adaptation_gives_a_backbone_on_new_weights() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env { cache_dir: dir.path().to_path_buf(), show_progress: false, ..Env::from_env() };
    let file = Env::from_env().asset_dir("smollm2").unwrap().join(SMOLLM2_FILE).display().to_string();
    let spec = GenerativeSpec { lr: 1e-3, batch_size: 4, max_len: 16, top_k: Some(1), ..Default::default() };
    let params =
        SmolLm2Params { path: file, layers: Some(1), max_len: 16, share_depths: Some(vec![]), ..Default::default() };
    let plain = SmolLm2::new(params.clone()).unwrap();
    let texts = ["a fine film", "a dull film", "the plot is thin", "great acting"];
    assert!(plain.adapt_to_texts(&env, &texts).unwrap().is_none(), "no `generative`: nothing to adapt");
    let with = SmolLm2::new(SmolLm2Params { generative: Some(spec), ..params }).unwrap();
    with.params.validate().unwrap();
    let adapted = with.adapt_to_texts(&env, &texts).unwrap().expect("adapted");
    let features = |b: &dyn Backbone| {
        let Inputs::Features(f) = b.build(&env, 2).unwrap().encode(&texts, &env).unwrap() else { panic!() };
        f
    };
    let (before, after) = (features(&plain), features(adapted.as_ref()));
    assert!((&before - &after).abs().max().double_value(&[]) > 1e-4, "the adapted weights make other features");
    assert!(adapted.language_model(&env).unwrap().is_some());
}

#[test]
fn bf16_probe_features_are_close_to_f32_and_cached_apart() {
    let env = Env { show_progress: false, ..Env::from_env() };
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(env.cache_dir.join("assets"), dir.path().join("assets")).unwrap();
    let env = Env { cache_dir: dir.path().to_path_buf(), ..env };
    let texts = ["A wonderful, moving film.", "Dull and far too long."];
    let features = |precision| {
        let p = SmolLm2Params { layers: Some(2), share_depths: Some(vec![]), precision, ..Default::default() };
        let mut m = SmolLm2::new(p).unwrap().build(&env, 2).unwrap();
        match m.encode(&texts, &env).unwrap() {
            w2s_core::Inputs::Features(f) => f,
            _ => panic!("a probe gives features"),
        }
    };
    let (f32s, bf16s) = (features(Precision::F32), features(Precision::Bf16));
    assert_eq!(bf16s.kind(), tch::Kind::Float, "features are returned as f32");
    let rel = (&f32s - &bf16s).norm().double_value(&[]) / f32s.norm().double_value(&[]);
    assert!(rel > 0.0 && rel < 0.05, "bf16 features differ from f32 by {rel} (relative)");
    let chunks = w2s_models::feature_bank::chunks(&env).unwrap();
    assert_eq!(chunks, 2, "two cache entries: precisions are cached apart");
    let bad = SmolLm2Params { mode: Mode::Full, precision: Precision::Bf16, ..Default::default() };
    assert!(bad.validate().unwrap_err().to_string().contains("precision"));
}

#[test]
fn too_long_texts_are_dropped_from_training_when_asked() {
    use w2s_core::{Example, TrainConfig};
    use w2s_runtime::train;
    let env = Env { show_progress: false, ..Env::from_env() };
    let params = |too_long| SmolLm2Params {
        layers: Some(1),
        share_depths: Some(vec![]),
        max_len: 6,
        too_long,
        ..Default::default()
    };
    let long = "this sentence has far more than six tokens in it, surely";
    let drop = SmolLm2::new(params(TooLong::Drop)).unwrap();
    let m = drop.build(&env, 2).unwrap();
    assert_eq!(m.over_length(&["Fine.", long]).unwrap(), vec![false, true]);
    let keep = SmolLm2::new(params(TooLong::Truncate)).unwrap().build(&env, 2).unwrap();
    assert_eq!(keep.over_length(&["Fine.", long]).unwrap(), vec![false, false], "truncate keeps everything");
    // Training on nothing but over-long texts is an error that says why.
    let examples = [Example::new(long, 0), Example::new(long, 1)];
    let refs: Vec<&Example> = examples.iter().collect();
    let targets = train::one_hot(refs.iter().map(|e| e.label), 2);
    let cfg = TrainConfig { epochs: 1, eval_every: 0, ..Default::default() };
    let job = train::Job {
        role: "student",
        backbone: &drop,
        n_classes: 2,
        train: &refs,
        targets: &targets,
        test: &refs,
        also_predict: None,
        record: None,
        cfg: &cfg,
        seed: 0,
    };
    let err = train::train_and_predict(&env, &job, &mut w2s_core::objective::SoftXent).err().unwrap().to_string();
    assert!(err.contains("longer than the model's context"), "{err}");
}

#[test]
fn smollm2_prefers_paris_and_batches_like_single_prompts() {
    let env = Env { show_progress: false, ..Env::from_env() };
    let lm = SmolLm2::new(SmolLm2Params::default()).unwrap().language_model(&env).unwrap().unwrap();
    let cands: Vec<i64> = [" Paris", " London"].iter().map(|w| lm.tokenize(w).unwrap()[0]).collect();
    let prompts = [
        "The capital of France is".to_string(),
        "Q: What is the capital city of France?\nA: The capital of France is".to_string(),
    ];
    let batch = lm.next_token_logprobs(&prompts, &cands).unwrap();
    eprintln!("log p(Paris), log p(London): {batch:?}");
    for row in &batch {
        assert!(row[0] > row[1], "{row:?}");
    }
    for (i, p) in prompts.iter().enumerate() {
        let alone = lm.next_token_logprobs(std::slice::from_ref(p), &cands).unwrap();
        for (a, b) in alone[0].iter().zip(&batch[i]) {
            assert!((a - b).abs() < 1e-4, "prompt {i}: {a} alone, {b} batched");
        }
    }
    assert!(lm.next_token_logprobs(&prompts, &[1 << 40]).is_err());
}
