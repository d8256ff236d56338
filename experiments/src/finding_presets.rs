//! Presets that exist for one finding of the talk each (the others reuse presets of their own:
//! `quickstart`, `model-ladder`, `synthetic-vs-model`, `early-stopping`, `bootstrap-chain`,
//! `reward-pairs`, `prompting`; `w2s run paper` runs them all and writes the report).

use serde_json::json;
use w2s_core::Preset;

/// Finding (g2), the paper's §5.2.2: generative fine-tuning of the strong reward model on the
/// task's unlabeled texts (next-token loss, 1 epoch on 1,000 texts, the top 4 of SmolLM2's 30
/// blocks trained, at the module's default learning rate, 1e-5) before weak-to-strong reward
/// modelling, against the same student without it. (Every weight on 2,000 texts took over 20
/// minutes on 2 shared cores without finishing; the top blocks are what the probe reads.) Students: SmolLM2-135M linear probes (the probe reads the fine-tuned trunk's features);
/// supervisor: the `reward-pairs` bow reward model; bradley-terry and logconf, 3 seeds. The
/// talk's 30-40% came with cheating (oracle) early stopping: the report reads that from the
/// `oracle` criterion of each run.
pub fn reward_generative() -> Preset {
    serde_json::from_value(json!({
        "description": "reward modelling on sentence pairs: SmolLM2 probe students with and without generative fine-tuning on the task's texts first; bow reward-model supervisor; bradley-terry and logconf, 3 seeds",
        "task": {"kind": "sentiment-pairs", "source": "movies", "min_gap": 1.0, "n_train": 2000, "n_test": 500, "soft_labels": true},
        "weak": {"kind": "bow", "size": "small"},
        "strong": [
            {"kind": "smollm2"},
            {"kind": "smollm2", "generative": {"epochs": 1, "max_texts": 1000, "top_k": 4}}
        ],
        "labeler": "model",
        "objective": ["bradley-terry", "logconf"],
        "seeds": [0, 1, 2],
        "weak_train": {"epochs": 10, "batch_size": 32, "lr": 3e-2, "eval_every": 25},
        "strong_train": {"epochs": 4, "batch_size": 32, "lr": 1e-2, "eval_every": 25, "eval_batch": 256}
    }))
    .expect("built-in presets are valid")
}

w2s_core::register_preset!(
    "reward-generative",
    "reward modelling with and without generative fine-tuning of the SmolLM2 student first (bradley-terry, logconf; 3 seeds)",
    reward_generative
);
