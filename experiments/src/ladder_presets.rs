//! `model-ladder`: the size axis of Burns et al. 2023 (their Fig. 3) with independently
//! pretrained families instead of depth truncations of one model: supervisors and students drawn
//! from a from-scratch bag-of-embeddings model, MiniLM-L6 (22M), MPNet-base (110M), SmolLM2
//! (135M) and Gemma 3 (270M), each pretrained model as a linear probe on its frozen features, on
//! a suite of five text tasks of different kinds: movie-review sentiment, news-headline
//! sentiment (NYT), tweet sentiment, fortune quotes by topic (computers vs politics) and a 4-way
//! topic task (computers, politics, science, men-women), 3 seeds, xent and logconf. The
//! from-scratch supervisor is a tiny bag-of-embeddings model: the tiny transformer used first
//! scored 0.55-0.57, barely above a coin. (WordNet gloss matching and WordNet is-a were tried and
//! dropped: their linear-probe ceilings are 0.55-0.65 and the from-scratch supervisor is at
//! chance, so no gap is there to recover; a probe on one pooled vector cannot compare a word with
//! a gloss.) Every weak supervisor is crossed with every student (the pairs where the student is
//! not the stronger are kept: they show the gap closing and turning). `ladder.svg` plots accuracy
//! against the student, one line per supervisor. Gemma 3 and MPNet are fetched on demand
//! (`w2s fetch`).

use serde_json::json;
use w2s_core::Preset;

pub fn model_ladder() -> Preset {
    serde_json::from_value(json!({
        "description": "weak {scratch bow, MiniLM, MPNet, SmolLM2} x strong {MiniLM 22M, MPNet 110M, SmolLM2 135M, Gemma 3 270M} (probes) on 5 tasks: sentiment (movies, NYT, tweets), fortune topics (2-way, 4-way); xent and logconf, 3 seeds",
        "task": [
            {"kind": "sentiment", "source": "movies", "n_train": 4000, "n_test": 1000},
            {"kind": "sentiment", "source": "nyt", "n_train": 3400, "n_test": 1000},
            {"kind": "sentiment", "source": "tweets", "n_train": 2000, "n_test": 500},
            {"kind": "fortunes-topic", "n_train": 1000, "n_test": 300},
            {"kind": "fortunes-topic", "categories": ["computers", "politics", "science", "men-women"], "n_train": 1600, "n_test": 400}
        ],
        "weak": [
            {"kind": "bow", "size": "tiny"},
            {"kind": "minilm", "mode": "probe"},
            {"kind": "mpnet", "mode": "probe"},
            {"kind": "smollm2"}
        ],
        "strong": [
            {"kind": "minilm", "mode": "probe"},
            {"kind": "mpnet", "mode": "probe"},
            {"kind": "smollm2"},
            {"kind": "gemma3"}
        ],
        "labeler": "model",
        "objective": ["xent", "logconf"],
        "seeds": [0, 1, 2],
        "weak_train": {"epochs": 10, "batch_size": 32, "lr": 3e-2, "eval_every": 25},
        "strong_train": {"epochs": 4, "batch_size": 32, "lr": 1e-2, "eval_every": 25, "eval_batch": 256},
        "ceiling_on": "b"
    }))
    .expect("built-in presets are valid")
}

/// The same setting with students that are truncations of one model (SmolLM2 cut to 4, 8, 16
/// and all 30 blocks) under the from-scratch bow supervisor: PGR across truncations against PGR
/// across independent families, like for like.
pub fn model_ladder_truncations() -> Preset {
    let mut p = model_ladder();
    p.description = "model-ladder's tasks, seeds and objectives with truncations of one model as students: scratch bow -> SmolLM2 @4, @8, @16, @30 (probes)".into();
    p.weak = serde_json::from_value(json!([{"kind": "bow", "size": "tiny"}])).expect("a spec list");
    p.strong = serde_json::from_value(json!([
        {"kind": "smollm2", "layers": 4},
        {"kind": "smollm2", "layers": 8},
        {"kind": "smollm2", "layers": 16},
        {"kind": "smollm2"}
    ]))
    .expect("a spec list");
    p
}

w2s_core::register_preset!(
    "model-ladder-truncations",
    "model-ladder's setting with SmolLM2 truncations (@4, @8, @16, @30) as students of the scratch supervisor, to compare with independent families (xent, logconf; 3 seeds)",
    model_ladder_truncations
);
w2s_core::register_preset!(
    "model-ladder",
    "independent pretrained families as supervisors and students (scratch bow, MiniLM, MPNet, SmolLM2, Gemma 3) on 5 tasks; accuracy against student size (xent, logconf; 3 seeds)",
    model_ladder
);
