//! The chess presets (issue #4): Stockfish limited to several strengths, and small `chess-net`
//! models, supervising a larger `chess-net` on next-move puzzles and on move-preference pairs.
//! Both are sized to finish in a few minutes on 2 cores once the positions are generated
//! (generation is cached in `<cache>/derived`, shared by every run and preset).

use serde_json::json;
use w2s_core::Preset;

fn preset(v: serde_json::Value) -> Preset {
    serde_json::from_value(v).expect("built-in presets are valid")
}

/// Next-move puzzles: a ladder of Stockfish supervisors of increasing strength (Skill Level 0,
/// Elo 1350, depth 1, Skill Level 5: 0.63, 0.64, 0.75 and 0.92 top-1 accuracy on `w2s
/// chess-report`'s puzzles) and a small `chess-net` trained on half A, teaching a large `chess-net`.
pub fn chess_engine_ladder() -> Preset {
    preset(json!({
        "description": "chess puzzles: Stockfish rungs (skill 0, elo 1350, depth 1, skill 5) and a small chess-net supervise a large chess-net; xent and logconf, 2 seeds",
        "task": {"kind": "chess-puzzles", "n_train": 1000, "n_test": 300},
        "weak": {"kind": "chess-net", "size": "small"},
        "strong": {"kind": "chess-net", "size": "large"},
        "labeler": [
            "model",
            {"kind": "engine", "skill": 0},
            {"kind": "engine", "elo": 1350},
            {"kind": "engine", "depth": 1},
            {"kind": "engine", "skill": 5}
        ],
        "objective": ["xent", "logconf"],
        "seeds": [0, 1],
        "weak_train": {"epochs": 20, "batch_size": 64, "lr": 1e-3, "eval_every": 50, "eval_batch": 512},
        "strong_train": {"epochs": 20, "batch_size": 64, "lr": 1e-3, "eval_every": 50, "eval_batch": 512}
    }))
}

/// Move-preference pairs: which of two moves is better, with a Stockfish rung and a small
/// `chess-net` reward model supervising a base `chess-net` reward model.
pub fn chess_pairs() -> Preset {
    preset(json!({
        "description": "chess move pairs: Stockfish depth 1 and a small chess-net reward model supervise a base chess-net reward model; bradley-terry and logconf, 2 seeds",
        "task": {"kind": "chess-move-pairs", "n_train": 600, "n_test": 200},
        "weak": {"kind": "chess-net", "size": "small"},
        "strong": {"kind": "chess-net", "size": "base"},
        "labeler": ["model", {"kind": "engine", "depth": 1}],
        "objective": ["bradley-terry", "logconf"],
        "seeds": [0, 1],
        "weak_train": {"epochs": 20, "batch_size": 64, "lr": 1e-3, "eval_every": 50, "eval_batch": 512},
        "strong_train": {"epochs": 20, "batch_size": 64, "lr": 1e-3, "eval_every": 50, "eval_batch": 512}
    }))
}

w2s_core::register_preset!(
    "chess-engine-ladder",
    "chess puzzles: Stockfish rungs and a small chess-net supervise a large chess-net (xent, logconf; 2 seeds)",
    chess_engine_ladder
);
w2s_core::register_preset!("chess-pairs", "chess move pairs: Stockfish depth 1 and a small chess-net reward model supervise a base chess-net (bradley-terry, logconf; 2 seeds)", chess_pairs);
