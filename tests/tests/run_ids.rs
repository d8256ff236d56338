//! Run ids of the registered presets stay what they were: a run id names a finished run's folder,
//! so an id that changes without a bump of `preset::RESULTS_VERSION` would silently recompute
//! (or orphan) every finished run. `tests/fixtures/run_ids.json` holds the ids of every registered
//! preset's runs and stages; when a change of results is intended, bump `RESULTS_VERSION` and
//! rewrite the file with `W2S_UPDATE_RUN_IDS=1 cargo test --release -p w2s-tests --test run_ids`.

use std::collections::BTreeMap;

fn current_ids() -> BTreeMap<String, Vec<String>> {
    let registry = w2s_tests::registry();
    let env = w2s_tests::env();
    let mut all = BTreeMap::new();
    for name in registry.presets.names() {
        let entry = registry.presets.get(&name).expect("listed preset");
        let preset = (entry.preset)();
        let runs = preset.resolved_runs(&registry, &env).unwrap_or_else(|e| panic!("preset `{name}`: {e:#}"));
        let ids = runs.iter().map(|r| format!("{} {} {}", r.id(), r.weak_stage_id(), r.ceiling_stage_id())).collect();
        all.insert(name, ids);
    }
    all
}

#[test]
fn registered_presets_keep_their_run_ids() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/run_ids.json");
    let now = current_ids();
    if std::env::var_os("W2S_UPDATE_RUN_IDS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(&now).unwrap() + "\n").unwrap();
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let before: BTreeMap<String, Vec<String>> = serde_json::from_str(&text).unwrap();
    assert!(now.values().map(Vec::len).sum::<usize>() > 0, "no runs at all");
    for (name, ids) in &before {
        match now.get(name) {
            None => panic!("preset `{name}` is no longer registered"),
            Some(now_ids) => {
                assert_eq!(now_ids, ids, "run ids of preset `{name}` changed (run id, weak stage, ceiling)")
            }
        }
    }
    let new: Vec<&String> = now.keys().filter(|n| !before.contains_key(*n)).collect();
    assert!(new.is_empty(), "presets {new:?} are new: add their ids with W2S_UPDATE_RUN_IDS=1");
}
