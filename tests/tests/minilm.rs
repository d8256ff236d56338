//! The real MiniLM weights: sentence embeddings put related sentences closer than unrelated ones.

use w2s_builtin::{
    backbones::minilm::{MiniLm, MiniLmParams},
    models::options::Mode,
};

fn cosine(a: &tch::Tensor, b: &tch::Tensor) -> f64 {
    (a * b).sum(tch::Kind::Float).double_value(&[]) / (a.norm().double_value(&[]) * b.norm().double_value(&[]))
}

#[test]
fn related_sentences_are_closer() {
    let env = w2s_tests::env();
    let m = MiniLm::new(MiniLmParams { mode: Mode::Probe, ..Default::default() }).unwrap();
    let dir = m.folder(&env).unwrap();
    let model = m.load(&env, &dir, 2).unwrap();
    let texts = ["A man is playing a guitar.", "Someone plays an instrument.", "The stock market fell sharply today."];
    let f = model.features(&texts, &env).unwrap();
    let related = cosine(&f.get(0), &f.get(1));
    let unrelated = cosine(&f.get(0), &f.get(2));
    assert!(related > 0.4, "related {related}");
    assert!(unrelated < 0.2, "unrelated {unrelated}");
    assert!(related > unrelated + 0.3);
}
