//! The registered presets.

use serde_json::json;
use w2s_core::Preset;

fn preset(v: serde_json::Value) -> Preset {
    serde_json::from_value(v).expect("built-in presets are valid")
}

/// A small from-scratch weak model supervising pretrained MiniLM (linear probe on its frozen,
/// cached features) on movie-review sentiment: the main job, about a minute on 2 cores.
pub fn quickstart() -> Preset {
    preset(json!({
        "description": "tiny from-scratch transformer (trained on 2,000 sentences) supervises MiniLM-L6 (linear probe) on movie-review sentiment; xent vs logconf, 5 seeds",
        "task": {"kind": "sentiment", "source": "movies", "n_train": 4000, "n_test": 1000},
        "weak": {"kind": "transformer", "size": "tiny"},
        "strong": {"kind": "minilm", "mode": "probe"},
        "labeler": "model",
        "objective": ["xent", "logconf"],
        "seeds": [0, 1, 2, 3, 4],
        "weak_train": {"epochs": 10, "batch_size": 32, "lr": 3e-2, "eval_every": 25},
        "strong_train": {"epochs": 4, "batch_size": 32, "lr": 1e-2, "eval_every": 25, "eval_batch": 256},
        "ceiling_on": "b"
    }))
}

/// The same question with MiniLM fully fine-tuned (every weight trains), on less data so that it
/// finishes in about four minutes on 2 cores.
pub fn sentiment_finetune() -> Preset {
    preset(json!({
        "description": "bag-of-embeddings weak model (trained on 600 sentences) supervises MiniLM-L6, fully fine-tuned, on movie-review sentiment; xent vs logconf, 2 seeds",
        "task": {"kind": "sentiment", "source": "movies", "n_train": 1200, "n_test": 500},
        "weak": {"kind": "bow", "size": "small"},
        "strong": {"kind": "minilm", "mode": "full"},
        "labeler": "model",
        "objective": ["xent", "logconf"],
        "seeds": [0, 1],
        "weak_train": {"epochs": 10, "batch_size": 32, "lr": 3e-2, "eval_every": 25},
        "strong_train": {"epochs": 2, "batch_size": 32, "lr": 1e-4, "eval_every": 20},
        "ceiling_on": "b"
    }))
}

/// The users' experiment: three supervisors at the same accuracy (the weak model's labels, random
/// noise matched to it, a systematic length rule matched to it), each with xent and logconf.
pub fn synthetic_vs_model() -> Preset {
    // The quickstart's task, models and settings; only the supervisors differ.
    Preset {
        description: "model labels vs random noise vs systematic flips, all at the weak model's accuracy; MiniLM probe students, xent and logconf, 5 seeds".into(),
        labeler: serde_json::from_value(json!([
            "model",
            {"kind": "noise", "matched_to": "model"},
            {"kind": "flip", "rule": "longer_than", "matched_to": "model"}
        ]))
        .expect("valid labeler specs"),
        ..quickstart()
    }
}

/// Weak-to-strong reward modelling: which of two rated sentences is more positive, with a weak
/// from-scratch reward model supervising a MiniLM reward model (linear probe).
pub fn reward_pairs() -> Preset {
    preset(json!({
        "description": "reward modelling on sentence pairs with the raters' soft preferences as gold: bow reward model supervises MiniLM (probe); bradley-terry vs logconf, 3 seeds",
        "task": {"kind": "sentiment-pairs", "source": "movies", "min_gap": 1.0, "n_train": 2000, "n_test": 500, "soft_labels": true},
        "weak": {"kind": "bow", "size": "small"},
        "strong": {"kind": "minilm", "mode": "probe"},
        "labeler": "model",
        "objective": ["bradley-terry", "logconf"],
        "seeds": [0, 1, 2],
        "weak_train": {"epochs": 10, "batch_size": 32, "lr": 3e-2, "eval_every": 25},
        "strong_train": {"epochs": 4, "batch_size": 32, "lr": 1e-2, "eval_every": 25, "eval_batch": 256}
    }))
}

/// The paper's accuracy-vs-strong-size grid on real models: weak supervisors of three strengths,
/// strong students from depth truncations of SmolLM2 (8, 16 blocks) and the full 30 blocks.
pub fn sentiment_ladder() -> Preset {
    preset(json!({
        "description": "weak {from-scratch transformer, MiniLM probe, SmolLM2@4} x strong {SmolLM2@8, @16, full}; probes; xent and logconf, 2 seeds",
        "task": {"kind": "sentiment", "source": "movies", "n_train": 2000, "n_test": 500},
        "weak": [
            {"kind": "transformer", "size": "tiny"},
            {"kind": "minilm", "mode": "probe"},
            {"kind": "smollm2", "layers": 4}
        ],
        "strong": [
            {"kind": "smollm2", "layers": 8},
            {"kind": "smollm2", "layers": 16},
            {"kind": "smollm2"}
        ],
        "labeler": "model",
        "objective": ["xent", "logconf"],
        "seeds": [0, 1],
        "weak_train": {"epochs": 10, "batch_size": 32, "lr": 1e-2, "eval_every": 25},
        "strong_train": {"epochs": 4, "batch_size": 32, "lr": 1e-2, "eval_every": 25, "eval_batch": 256}
    }))
}

/// Seconds-long end-to-end check on tiny models and data.
pub fn smoke() -> Preset {
    preset(json!({
        "description": "seconds-long end-to-end check: tiny from-scratch models on 200 sentences, model and noise labelers",
        "task": {"kind": "sentiment", "n_train": 200, "n_test": 100},
        "weak": {"kind": "bow", "size": "tiny"},
        "strong": {"kind": "transformer", "size": "tiny"},
        "labeler": ["model", {"kind": "noise", "rate": 0.3}],
        "objective": ["xent", "logconf"],
        "seeds": [0],
        "weak_train": {"epochs": 2, "batch_size": 16, "lr": 1e-2, "eval_every": 5},
        "strong_train": {"epochs": 2, "batch_size": 16, "lr": 1e-3, "eval_every": 5}
    }))
}

w2s_core::register_preset!("quickstart", "tiny from-scratch transformer supervises MiniLM-L6 (linear probe) on movie-review sentiment (xent, logconf; 5 seeds)", quickstart);
w2s_core::register_preset!(
    "sentiment-finetune",
    "bow weak model supervises fully fine-tuned MiniLM-L6 on movie-review sentiment (xent, logconf; 2 seeds)",
    sentiment_finetune
);
w2s_core::register_preset!(
    "synthetic-vs-model",
    "weak-model labels vs matched random noise vs matched systematic flips (xent, logconf; 5 seeds)",
    synthetic_vs_model
);
w2s_core::register_preset!(
    "reward-pairs",
    "weak-to-strong reward modelling on rated sentence pairs (bradley-terry, logconf; 3 seeds)",
    reward_pairs
);
w2s_core::register_preset!(
    "sentiment-ladder",
    "weak supervisors of three strengths x SmolLM2 students of three depths (xent, logconf; 2 seeds)",
    sentiment_ladder
);
w2s_core::register_preset!("smoke", "seconds-long end-to-end check on tiny from-scratch models", smoke);
