//! The `prompt` objective end to end: a tiny preset whose strong model is SmolLM2 cut to two
//! blocks, prompted with two shots (weak vs gold labels) on eight test sentences.

use w2s_tests::{env, registry, run, tiny_preset};

#[test]
fn prompting_baseline_runs_in_a_preset() {
    let (r, env) = (registry(), env());
    let dir = tempfile::tempdir().unwrap();
    let p = tiny_preset(&[
        "strong={\"kind\":\"smollm2\",\"layers\":2}",
        "labeler=model",
        "objective={\"kind\":\"prompt\",\"k\":2,\"n_test\":8}",
    ]);
    let out = run(&p, &r, &env, dir.path(), false).unwrap();
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    assert_eq!(out.rows.len(), 1);
    let row = &out.rows[0];
    assert_eq!(row.n_test, 8);
    assert_eq!(row.ceiling_on, "2-shot gold prompt");
    for acc in [row.weak_acc, row.strong_acc, row.w2s_acc] {
        assert!((0.0..=1.0).contains(&acc), "{row:?}");
    }
    // Finished runs are reused.
    assert_eq!(run(&p, &r, &env, dir.path(), false).unwrap().reused, 1);
}

/// Zero-shot prompting shows no labels: the student's prompt is the ceiling's, so PGR would be 1
/// by construction. It is NaN with the reason instead. Shots come only from examples of B that
/// the labeler kept.
#[test]
fn zero_shot_pgr_is_undefined_and_shots_respect_keep_flags() {
    let (r, env) = (registry(), env());
    let dir = tempfile::tempdir().unwrap();
    let p = tiny_preset(&[
        "strong={\"kind\":\"smollm2\",\"layers\":2}",
        "labeler=model",
        "objective={\"kind\":\"prompt\",\"k\":0,\"n_test\":4}",
    ]);
    let out = run(&p, &r, &env, dir.path(), false).unwrap();
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    let row = &out.rows[0];
    assert_eq!(row.w2s_acc, row.strong_acc);
    assert!(row.pgr.is_nan() && row.pgr_note.contains("zero-shot"), "{row:?}");
    // `confident` keeps 3 of the 60 examples of B: four shots cannot all be kept ones.
    let p = tiny_preset(&[
        "strong={\"kind\":\"smollm2\",\"layers\":2}",
        "labeler={\"kind\":\"confident\",\"fraction\":0.05}",
        "objective={\"kind\":\"prompt\",\"k\":4,\"n_test\":4}",
    ]);
    let out = run(&p, &r, &env, tempfile::tempdir().unwrap().path(), false).unwrap();
    assert!(out.failures.len() == 1 && out.failures[0].contains("the labeler kept 3"), "{:?}", out.failures);
}

/// Generative fine-tuning is wired into the protocol: a strong `smollm2` with `generative` is
/// adapted to the task's unlabeled training texts (weights saved once under
/// `derived/generative`), then probed and trained as usual; a second preset reuses the weights.
#[test]
fn generative_finetuning_runs_before_weak_to_strong_training() {
    let r = registry();
    let cache = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(env().cache_dir.join("assets"), cache.path().join("assets")).unwrap();
    let env = w2s_core::Env { cache_dir: cache.path().to_path_buf(), ..env() };
    let strong = "strong={\"kind\":\"smollm2\",\"layers\":1,\"share_depths\":[],\
                  \"generative\":{\"epochs\":1,\"max_texts\":8,\"batch_size\":4,\"max_len\":16,\"lr\":1e-4}}";
    let p = tiny_preset(&[strong, "labeler=model", "objective=xent", "task.n_train=40", "task.n_test=20"]);
    let dir = tempfile::tempdir().unwrap();
    let out = run(&p, &r, &env, dir.path(), false).unwrap();
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    let saved =
        |d: &std::path::Path| walk(d).into_iter().filter(|f| f.extension().is_some_and(|e| e == "safetensors")).count();
    let generative = cache.path().join("derived").join("generative");
    assert_eq!(saved(&generative), 1, "adapted weights saved once under {}", generative.display());
    let again = tempfile::tempdir().unwrap();
    assert!(run(&p, &r, &env, again.path(), false).unwrap().failures.is_empty());
    assert_eq!(saved(&generative), 1, "the adapted weights are reused, not retrained");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries.flatten().flat_map(|e| if e.path().is_dir() { walk(&e.path()) } else { vec![e.path()] }).collect()
}
