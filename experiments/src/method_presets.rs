//! The presets of the methods of issue #12, one per method family, each against the plain
//! baseline on the same task, models, data and seeds: the quickstart's setting (a tiny
//! bag-of-embeddings model supervising a MiniLM-L6 linear probe on fortune topics), in which the
//! supervisor is clearly above chance (0.78) and the ceiling clearly above it (0.94; gap
//! 0.16 ± 0.01 over 5 seeds).

use serde_json::json;
use w2s_core::Preset;

use crate::presets::quickstart_setting;

/// The quickstart's setting with some fields replaced.
fn quickstart_with(fields: serde_json::Value) -> Preset {
    let mut v = serde_json::to_value(quickstart_setting()).expect("a preset serializes");
    if let (Some(map), serde_json::Value::Object(new)) = (v.as_object_mut(), fields) {
        map.extend(new);
    }
    serde_json::from_value(v).expect("built-in presets are valid")
}

/// Bootstrapping: weak → SmolLM2 (first 4 blocks, probe) → MiniLM, and strong-to-strong
/// (weak → MiniLM → MiniLM), against the direct weak → MiniLM transfer.
pub fn bootstrap_chain() -> Preset {
    quickstart_with(json!({
        "description": "bootstrapping: direct weak -> MiniLM vs weak -> SmolLM2@4 (probe) -> MiniLM vs strong-to-strong weak -> MiniLM -> MiniLM; xent, 3 seeds",
        "objective": "xent",
        "labeler": "model",
        "seeds": [0, 1, 2],
        "chain": [[], [{"kind": "smollm2", "layers": 4}], [{"kind": "minilm", "mode": "probe"}]]
    }))
}

/// Early stopping: a fifth of the student's weak labels held out, every registered criterion
/// scored on each run (`criteria.csv`, `w2s criteria`); `final` is the baseline, `oracle` the
/// bound. The student trains twice as long as in the quickstart (8 epochs), evaluated every 5
/// steps, so that it has room to peak and then fit its supervisor's errors, and the criteria
/// have a curve to choose on (`stopping-curves.png`).
pub fn early_stopping() -> Preset {
    quickstart_with(json!({
        "description": "early stopping: every stopping criterion (final, oracle, weak-label validation, unsupervised) on the quickstart's students, 8 epochs evaluated every 5 steps, 20% of B held out with weak labels; xent and logconf, 3 seeds",
        "labeler": "model",
        "seeds": [0, 1, 2],
        "weak_val_frac": 0.2,
        "strong_train": {"epochs": 8, "batch_size": 32, "lr": 1e-2, "eval_every": 5, "eval_batch": 256}
    }))
}

/// Ensembles of supervisors: three seeds of the weak model, and a mixed-family trio (two
/// transformer seeds and a bag-of-embeddings model), combined by mean, vote and agreement
/// weights, against the single weak model.
pub fn ensembles() -> Preset {
    let seeds = json!([
        "model",
        {"labeler": "model", "seed_offset": 1},
        {"labeler": "model", "seed_offset": 2}
    ]);
    let mixed = json!([
        "model",
        {"labeler": "model", "seed_offset": 1},
        {"labeler": "model", "weak": {"kind": "bow", "size": "small"}}
    ]);
    quickstart_with(json!({
        "description": "ensembles of weak supervisors (3 seeds; 2 seeds + bow) by mean, vote and agreement weights vs the single weak model; xent, 3 seeds",
        "objective": "xent",
        "seeds": [0, 1, 2],
        "labeler": [
            "model",
            {"kind": "ensemble", "members": seeds, "combine": "mean"},
            {"kind": "ensemble", "members": seeds, "combine": "vote"},
            {"kind": "ensemble", "members": seeds, "combine": "agreement"},
            {"kind": "ensemble", "members": mixed, "combine": "mean"},
            {"kind": "ensemble", "members": mixed, "combine": "agreement"}
        ]
    }))
}

/// Denoising the weak labels with the strong model's features (MiniLM, the student's own
/// frozen features): probe filter at two contaminations, probe relabel, confident learning, all
/// with out-of-fold kNN probes, against the raw weak labels.
pub fn denoise() -> Preset {
    let features = json!({"kind": "minilm", "mode": "probe"});
    quickstart_with(json!({
        "description": "denoising weak labels with MiniLM features: probe-filter (contamination 0.1, 0.3), probe-relabel, confident-learning vs raw weak labels; xent, 3 seeds",
        "objective": "xent",
        "seeds": [0, 1, 2],
        "labeler": [
            "model",
            {"kind": "probe-filter", "features": features, "contamination": 0.1},
            {"kind": "probe-filter", "features": features, "contamination": 0.3},
            {"kind": "probe-relabel", "features": features},
            {"kind": "confident-learning", "features": features}
        ]
    }))
}

w2s_core::register_preset!(
    "denoise",
    "weak labels denoised with the strong model's features (probe filter / relabel, confident learning) vs raw (quickstart setting; 3 seeds)",
    denoise
);
w2s_core::register_preset!(
    "bootstrap-chain",
    "bootstrapping chains and strong-to-strong vs the direct weak -> strong transfer (quickstart setting; 3 seeds)",
    bootstrap_chain
);
w2s_core::register_preset!(
    "early-stopping",
    "every stopping criterion on the quickstart's students with a weak-labelled validation slice (3 seeds)",
    early_stopping
);
w2s_core::register_preset!(
    "ensembles",
    "ensembles of weak supervisors (mean, vote, agreement weights) vs one weak model (quickstart setting; 3 seeds)",
    ensembles
);
