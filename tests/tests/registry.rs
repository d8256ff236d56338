//! The registry holds exactly the built-in components, and bad specs fail before training.

use w2s_core::{Registry, Spec};
use w2s_tests::registry;

#[test]
fn exact_set_of_registered_names() {
    let r = registry();
    assert_eq!(
        r.tasks.names(),
        [
            "chess-move-pairs",
            "chess-puzzles",
            "fortunes-topic",
            "preference-pairs",
            "sentiment",
            "sentiment-pairs",
            "user-data",
            "wordnet-gloss",
            "wordnet-isa"
        ]
    );
    assert_eq!(
        r.backbones.names(),
        ["bow", "chess-net", "chess-text", "gemma3", "gpt2", "hf-decoder", "minilm", "mpnet", "smollm2", "transformer"]
    );
    assert_eq!(
        r.labelers.names(),
        [
            "confident",
            "confident-learning",
            "easy",
            "engine",
            "ensemble",
            "flip",
            "ground-truth",
            "model",
            "noise",
            "probe-filter",
            "probe-relabel"
        ]
    );
    assert_eq!(
        r.objectives.names(),
        [
            "adaptconf",
            "bradley-terry",
            "entropy",
            "entropy-detached",
            "kl",
            "logconf",
            "logconf-buffered",
            "logconf-openai",
            "product",
            "prompt",
            "window",
            "xent"
        ]
    );
    assert_eq!(
        r.presets.names(),
        [
            "bootstrap-chain",
            "chess-engine-ladder",
            "chess-pairs",
            "denoise",
            "early-stopping",
            "ensembles",
            "model-ladder",
            "model-ladder-truncations",
            "prompting",
            "quickstart",
            "reward-generative",
            "reward-pairs",
            "sentiment-finetune",
            "sentiment-ladder",
            "smoke",
            "synthetic-vs-model"
        ]
    );
    assert_eq!(
        r.criteria.names(),
        ["churn", "confidence-plateau", "final", "oracle", "weak-val-agreement", "weak-val-loss"]
    );
    for row in r.listing() {
        assert!(!row.description.is_empty(), "{} has no description", row.name);
        assert!(row.origin.starts_with("built-in (w2s"), "{}", row.origin);
    }
}

#[test]
fn duplicate_names_name_both_origins() {
    let mut r = Registry::with_builtins().unwrap();
    let err = r.add_inventory(&|m| format!("second copy of {m}")).unwrap_err().to_string();
    assert!(err.contains("duplicate") && err.contains("built-in (") && err.contains("second copy of"), "{err}");
}

#[test]
fn unknown_kind_lists_valid_ones() {
    let r = registry();
    let err = r.objective(&Spec::new("logconfx")).err().unwrap().to_string();
    let valid = r.objectives.names().join(", ");
    assert!(err.contains("unknown objective `logconfx`") && err.contains(&valid) && valid.contains("logconf"), "{err}");
}

#[test]
fn misspelled_parameter_lists_valid_ones() {
    let r = registry();
    let err = format!("{:#}", r.objective(&Spec::new("logconf").with("aux_cof", 0.5)).err().unwrap());
    assert!(err.contains("aux_cof") && err.contains("aux_coef") && err.contains("warmup_frac"), "{err}");
    let err = format!("{:#}", r.objective(&Spec::new("logconf").with("aux_coef", "high")).err().unwrap());
    assert!(err.contains("aux_coef") || err.contains("invalid type"), "{err}");
}

#[test]
fn preset_validation_fails_before_training() {
    let r = registry();
    let p = w2s_tests::tiny_preset(&["objective=[\"xent\",{\"kind\":\"logconf\",\"warmup\":0.1}]"]);
    let err = format!("{:#}", p.validate(&r).unwrap_err());
    assert!(err.contains("objective") && err.contains("warmup"), "{err}");
    let p = w2s_tests::tiny_preset(&["strong.kind=gpt5"]);
    let err = format!("{:#}", p.validate(&r).unwrap_err());
    assert!(err.contains("unknown backbone `gpt5`") && err.contains("strong"), "{err}");
    let p = w2s_tests::tiny_preset(&["strong_train.lr=-1"]);
    let err = format!("{:#}", p.validate(&r).unwrap_err());
    assert!(err.contains("strong_train.lr"), "{err}");
}

/// `kl` trains exactly like `xent` and `entropy-detached` like a scaled `xent`: no preset grids
/// them as if they were distinct methods, and their descriptions say so.
#[test]
fn xent_equivalents_are_described_and_kept_out_of_presets() {
    let r = w2s_tests::registry();
    for name in ["kl", "entropy-detached"] {
        let entry = r.objectives.get(name).unwrap();
        assert!(entry.description.contains("xent"), "{name}: {}", entry.description);
        for p in r.presets.iter() {
            let preset = (p.preset)();
            assert!(preset.objective.iter().all(|o| o.kind() != name), "preset {} grids {name}", p.name);
        }
    }
}

/// Registered names are kebab-case; the old snake_case names still build, resolve to the new
/// name and give the same run ids, so existing preset files keep working.
#[test]
fn old_snake_case_names_are_aliases_of_the_new_ones() {
    use w2s_core::registry::{Kind, RENAMED};
    let (r, env) = (w2s_tests::registry(), w2s_tests::env());
    for (old, new) in RENAMED {
        assert!(!new.contains('_'), "{new}");
        let kind = if r.tasks.get(new).is_ok() {
            Kind::Task
        } else if r.labelers.get(new).is_ok() {
            Kind::Labeler
        } else if r.criteria.get(new).is_ok() {
            Kind::Criterion
        } else {
            Kind::Objective
        };
        let spec = |name: &str| -> w2s_core::Spec { serde_json::from_value(serde_json::json!(name)).unwrap() };
        if kind != Kind::Task {
            // (The tasks need a file path to build; their names are checked through `get`.)
            assert_eq!(r.resolve(kind, &spec(old)).unwrap(), r.resolve(kind, &spec(new)).unwrap(), "{old}");
        }
    }
    for list in [r.tasks.names(), r.labelers.names(), r.objectives.names(), r.backbones.names(), r.criteria.names()] {
        assert!(list.iter().all(|n| !n.contains('_')), "one naming style: {list:?}");
    }
    assert!(r.tasks.get("user_data").is_ok() && r.tasks.get("preference_pairs").is_ok());
    let old = w2s_tests::tiny_preset(&["labeler=ground_truth", "objective=logconf_buffered"]);
    let new = w2s_tests::tiny_preset(&["labeler=ground-truth", "objective=logconf-buffered"]);
    let ids = |p: &w2s_core::Preset| p.resolved_runs(&r, &env).unwrap().iter().map(|rc| rc.id()).collect::<Vec<_>>();
    assert_eq!(ids(&old), ids(&new));
}
