//! The `gemma3` backbone on the real Gemma 3 270M (fetched on demand): the language model
//! behind prompting knows Paris, a probe cut to 2 blocks gives 640-wide features that the cache
//! returns again, `top` mode trains only its top block, and its size is read from the header.

use w2s_builtin::backbones::smollm2::{SmolLm2, SmolLm2Params};
use w2s_core::{Backbone, Env, Inputs};
use w2s_models::options::Mode;

fn env() -> (tempfile::TempDir, Env) {
    let dir = tempfile::tempdir().unwrap();
    let real = Env::from_env();
    // A fresh cache that shares the fetched assets (gemma3 fetched into the real cache if missing).
    real.asset_dir("gemma3").unwrap();
    std::os::unix::fs::symlink(real.cache_dir.join("assets"), dir.path().join("assets")).unwrap();
    let env = Env { cache_dir: dir.path().to_path_buf(), show_progress: false, ..real };
    (dir, env)
}

#[test]
fn gemma3_prompts_probes_and_trains_its_top_block() {
    let (_dir, env) = env();
    let lm = SmolLm2::gemma3(SmolLm2Params::default()).unwrap().language_model(&env).unwrap().unwrap();
    let candidates: Vec<i64> = [" Paris", " London", " Berlin"].iter().map(|w| lm.tokenize(w).unwrap()[0]).collect();
    let lp = lm.next_token_logprobs(&["The capital of France is".to_string()], &candidates).unwrap();
    assert!(lp[0][0] > lp[0][1] && lp[0][0] > lp[0][2], "Paris first: {:?}", lp[0]);

    let texts = ["A wonderful, moving film.", "Dull and far too long.", "hello"];
    let probe = SmolLm2Params { layers: Some(2), share_depths: Some(vec![1]), ..Default::default() };
    let backbone = SmolLm2::gemma3(probe).unwrap();
    let Inputs::Features(f) = backbone.build(&env, 2).unwrap().encode(&texts, &env).unwrap() else { panic!() };
    assert_eq!(f.size(), [3, 640]);
    let Inputs::Features(again) = backbone.build(&env, 2).unwrap().encode(&texts, &env).unwrap() else { panic!() };
    assert!(f.equal(&again), "read back from the feature cache");
    assert_eq!(w2s_models::feature_bank::chunks(&env).unwrap(), 2, "depth 2 and the shared depth 1, one pass");

    let top = SmolLm2Params { layers: Some(2), mode: Mode::Top, top_k: Some(1), max_len: 16, ..Default::default() };
    let mut model = SmolLm2::gemma3(top).unwrap().build(&env, 2).unwrap();
    let inputs = model.encode(&texts, &env).unwrap();
    assert_eq!(model.logits(&inputs, &[0, 2], true).unwrap().size(), [2, 2]);
    // The top block's 13 tensors (4 projections, 3 MLP matrices, 6 norms), the final norm, the head.
    assert_eq!(model.var_store().trainable_variables().len(), 13 + 1 + 1);
    // Embeddings 262,144 × 640; per block q, o 640 × 1024, k, v 640 × 256, MLP 3 × 640 × 2048,
    // norms 4 × 640 + 2 × 256; the final norm.
    let block = 2 * 655_360 + 2 * 163_840 + 3 * 1_310_720 + 4 * 640 + 2 * 256;
    assert_eq!(backbone.parameters(&env).unwrap(), Some(167_772_160 + 2 * block + 640));
}
