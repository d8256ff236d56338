//! Parameter counts of the pretrained backbones, read from their checkpoints' headers
//! (`Backbone::parameters`, the ladder figure's x axis), against the published sizes:
//! all-MiniLM-L6-v2 22.7M, all-mpnet-base-v2 109.5M, SmolLM2-135M 134.5M, Gemma 3 270M 268.1M
//! (170M of them embeddings); a truncation counts only its blocks; a from-scratch model says none.

use w2s_core::{Env, Registry, Spec};

fn millions(registry: &Registry, env: &Env, spec: Spec) -> f64 {
    let n = registry.backbone(&spec).unwrap().parameters(env).unwrap().expect("a pretrained backbone knows its size");
    n as f64 / 1e6
}

#[test]
fn pretrained_backbones_count_their_parameters() {
    let registry = w2s::registry().unwrap();
    let env = Env::from_env();
    let cases = [
        (Spec::new("minilm"), 22.5, 22.9),
        (Spec::new("mpnet"), 109.0, 110.0),
        (Spec::new("smollm2"), 134.0, 135.0),
        (Spec::new("gemma3"), 267.0, 269.0),
    ];
    for (spec, lo, hi) in cases {
        let m = millions(&registry, &env, spec.clone());
        assert!((lo..=hi).contains(&m), "{}: {m:.2}M parameters, expected {lo}-{hi}M", spec.label());
    }
    let cut = millions(&registry, &env, Spec::new("smollm2").with("layers", 4));
    // 28.3M embeddings + 4 of the 30 blocks (3.54M each).
    assert!((42.0..43.0).contains(&cut), "smollm2 cut to 4 blocks: {cut:.2}M");
    let scratch = registry.backbone(&Spec::new("transformer").with("size", "tiny")).unwrap();
    assert_eq!(scratch.parameters(&env).unwrap(), None);
}
