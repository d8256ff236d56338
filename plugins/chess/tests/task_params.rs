//! Each chess task takes only its own parameters: a field of the other task (or a misspelling)
//! fails when the spec is built, naming the field and the valid ones; the defaults are unchanged;
//! worker counts are left out of resolved specs (run identities).

use serde_json::json;
use w2s_chess::tasks::{ChessMovePairsParams, ChessPuzzlesParams};
use w2s_core::{registry::Kind, Registry, Spec};

fn build_error(spec: Spec) -> String {
    w2s_chess::link();
    let registry = Registry::with_builtins().expect("registry");
    match registry.task(&spec) {
        Ok(_) => panic!("{spec:?} was accepted"),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn puzzles_reject_min_gap_cp() {
    let err = build_error(Spec::new("chess-puzzles").with("min_gap_cp", 100));
    assert!(err.contains("unknown field `min_gap_cp`") && err.contains("`gap_cp`"), "{err}");
}

#[test]
fn move_pairs_reject_gap_cp() {
    let err = build_error(Spec::new("chess-move-pairs").with("gap_cp", 100));
    assert!(err.contains("unknown field `gap_cp`") && err.contains("`min_gap_cp`"), "{err}");
}

#[test]
fn own_parameters_are_accepted_and_checked() {
    w2s_chess::link();
    let registry = Registry::with_builtins().unwrap();
    registry.task(&Spec::new("chess-puzzles").with("gap_cp", 100)).unwrap();
    registry.task(&Spec::new("chess-move-pairs").with("min_gap_cp", 100)).unwrap();
    let err = build_error(Spec::new("chess-move-pairs").with("min_gap_cp", -1));
    assert!(err.contains("parameter `min_gap_cp`"), "{err}");
    let err = build_error(Spec::new("chess-puzzles").with("gap_cp", -1));
    assert!(err.contains("parameter `gap_cp`"), "{err}");
}

#[test]
fn defaults_are_unchanged() {
    let common = json!({"n_train": 1000, "n_test": 300, "sources": ["puzzles", "playouts"], "depth": 12,
                        "workers": null, "seed": 0, "data_seed": 0});
    let mut puzzles = common.clone();
    puzzles["gap_cp"] = json!(150);
    let mut pairs = common;
    pairs["min_gap_cp"] = json!(150);
    let sorted = |v: serde_json::Value| -> std::collections::BTreeMap<String, serde_json::Value> {
        serde_json::from_value(v).unwrap()
    };
    assert_eq!(sorted(serde_json::to_value(ChessPuzzlesParams::default()).unwrap()), sorted(puzzles));
    assert_eq!(sorted(serde_json::to_value(ChessMovePairsParams::default()).unwrap()), sorted(pairs));
    // Both generate the same positions as before (one cache): the default generation settings.
    let settings = ChessPuzzlesParams::default().settings();
    assert_eq!(settings, ChessMovePairsParams::default().settings());
    assert_eq!(settings, ChessPuzzlesParams::default().pairs().settings());
    assert_eq!(settings, w2s_chess::data::positions::GenSettings::default());
}

#[test]
fn worker_counts_are_not_part_of_a_run_identity() {
    w2s_chess::link();
    let registry = Registry::with_builtins().unwrap();
    for (kind, table) in [("chess-puzzles", Kind::Task), ("chess-move-pairs", Kind::Task), ("engine", Kind::Labeler)] {
        let plain = registry.resolve(table, &Spec::new(kind)).unwrap();
        let with_workers = registry.resolve(table, &Spec::new(kind).with("workers", 3)).unwrap();
        assert_eq!(plain, with_workers, "{kind}");
        assert!(!plain.params().contains_key("workers"), "{kind}: {plain:?}");
        // A field that does change results still does.
        let deeper = registry.resolve(table, &Spec::new(kind).with("depth", 3)).unwrap();
        assert_ne!(plain, deeper, "{kind}");
    }
}
