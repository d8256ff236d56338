//! Results that are right and runs that survive (issue #10): stale user data, run identity,
//! nested-spec validation, panics and NaN logits isolated to their run, damaged stage files,
//! foreign output folders and stale temporaries. Each test fails on the code before #10.

use std::path::Path;

use serde_json::json;
use w2s_core::{register, Objective, Preset, StepInfo};
use w2s_runtime::results::SummaryRow;
use w2s_tests::{env, registry, run, tiny_preset};

/// An objective that panics: a bug in one run must not take the preset down.
struct Panics;
impl Objective for Panics {
    fn loss(&mut self, _l: &tch::Tensor, _t: &tch::Tensor, _at: StepInfo) -> anyhow::Result<tch::Tensor> {
        panic!("test_panic: deliberate")
    }
}
register!(Objective {
    name: "test_panic",
    description: "test only: panics on the first step",
    params: w2s_core::params::NoParams,
    build: |_: w2s_core::params::NoParams| Ok::<_, anyhow::Error>(Panics),
});

/// `logconf` on NaN logits (a diverged model): its batch quantile used to panic on NaN.
struct LogconfOnNan(w2s_builtin::objectives::logconf::LogConf);
impl Objective for LogconfOnNan {
    fn loss(&mut self, l: &tch::Tensor, t: &tch::Tensor, at: StepInfo) -> anyhow::Result<tch::Tensor> {
        self.0.loss(&(l * f64::NAN), t, at)
    }
}
register!(Objective {
    name: "test_logconf_nan_logits",
    description: "test only: logconf on NaN logits",
    params: w2s_core::params::NoParams,
    build: |_: w2s_core::params::NoParams| {
        Ok::<_, anyhow::Error>(LogconfOnNan(w2s_builtin::objectives::logconf::LogConf::new(Default::default())?))
    },
});

fn preset(v: serde_json::Value) -> Preset {
    Preset::from_value(v, &[]).unwrap()
}

/// A tiny user-data preset on `train` (bow supervising bow).
fn user_preset(train: &Path) -> Preset {
    preset(json!({
        "task": {"kind": "user-data", "train": train, "text_field": "text", "label_field": "label"},
        "weak": {"kind": "bow", "size": "tiny"},
        "strong": {"kind": "bow", "size": "tiny"},
        "labeler": "model", "objective": "xent", "seeds": [0],
        "weak_train": {"epochs": 1, "batch_size": 16, "lr": 1e-2},
        "strong_train": {"epochs": 1, "batch_size": 16, "lr": 1e-2}
    }))
}

fn write_user_data(path: &Path, flip: bool) {
    let words = ["good", "great", "fine", "bad", "awful", "poor"];
    let lines: Vec<String> = (0..100)
        .map(|i| {
            let w = words[i % 6];
            let label = usize::from(i % 6 >= 3) ^ usize::from(flip);
            json!({"text": format!("{w} film number {i}"), "label": label}).to_string()
        })
        .collect();
    std::fs::write(path, lines.join("\n")).unwrap();
}

#[test]
fn editing_a_user_data_file_recomputes_its_runs() {
    let (r, env) = (registry(), env());
    let data = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let train = data.path().join("chg.jsonl");
    write_user_data(&train, false);
    let p = user_preset(&train);
    let first = run(&p, &r, &env, out.path(), false).unwrap();
    assert!(first.failures.is_empty(), "{:?}", first.failures);
    assert_eq!(run(&p, &r, &env, out.path(), false).unwrap().reused, 1, "unchanged data: reused");
    // Flip every label (same size, same path): the run must be recomputed, not reused.
    std::thread::sleep(std::time::Duration::from_millis(20));
    write_user_data(&train, true);
    let second = run(&p, &r, &env, out.path(), false).unwrap();
    assert_eq!(second.reused, 0, "edited data file: recomputed");
    assert_ne!(second.rows[0].run_id, first.rows[0].run_id);
    // The run records where and with what it ran.
    let config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join(&second.rows[0].run_id).join("config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(config["device"], json!("cpu"));
    assert!(config["threads"].as_i64().unwrap() >= 1 && config["w2s_version"].is_string(), "{config}");
    assert_eq!(config["config"]["identity"]["task_files"][0]["bytes"], json!(std::fs::metadata(&train).unwrap().len()));
    assert_eq!(second.rows[0].device, "cpu");
}

#[test]
fn run_ids_hash_resolved_specs_and_duplicates_are_refused() {
    let (r, env) = (registry(), env());
    let base = serde_json::to_value(tiny_preset(&["labeler=model", "objective=logconf"])).unwrap();
    let ids = |overrides: &[&str]| -> Vec<String> {
        let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        let p = Preset::from_value(base.clone(), &o).unwrap();
        p.resolved_runs(&r, &env).unwrap().iter().map(|rc| rc.id()).collect()
    };
    let plain = ids(&[]);
    assert_eq!(
        plain,
        ids(&["objective={\"kind\":\"logconf\",\"aux_coef\":0.5,\"warmup_frac\":0.1}"]),
        "defaults written"
    );
    assert_eq!(
        plain,
        ids(&["strong_train.eval_batch=7", "weak_train.eval_batch=3"]),
        "eval_batch cannot change results"
    );
    assert_ne!(plain, ids(&["objective={\"kind\":\"logconf\",\"aux_coef\":0.25}"]), "a real change is a new run");
    assert_ne!(plain, ids(&["strong_train.lr=1e-2"]));
    let err = |overrides: &[&str]| {
        let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        format!("{:#}", Preset::from_value(base.clone(), &o).unwrap().resolved_runs(&r, &env).unwrap_err())
    };
    let e = err(&["seeds=[0,0]"]);
    assert!(e.contains("seed 0 twice"), "{e}");
    let e = err(&["labeler=[\"model\",{\"kind\":\"model\"}]"]);
    assert!(e.contains("`labeler`") && e.contains("entries 0 and 1"), "{e}");
    // Prompting's batch size is result-neutral too.
    let prompt = |batch: usize| {
        let spec = json!({"kind": "prompt", "k": 2, "batch": batch});
        r.resolve(w2s_core::registry::Kind::Objective, &serde_json::from_value(spec).unwrap()).unwrap()
    };
    assert_eq!(prompt(1), prompt(16));
}

#[test]
fn nested_specs_are_checked_before_anything_trains() {
    let (r, env) = (registry(), env());
    let check = |labeler: serde_json::Value| {
        let mut v = serde_json::to_value(tiny_preset(&[])).unwrap();
        v["labeler"] = labeler;
        let p = Preset::from_value(v, &[]).unwrap();
        format!("{:#}", p.resolved_runs(&r, &env).unwrap_err())
    };
    let e = check(json!({"kind": "confident", "inner": {"kind": "noise", "rate": "high"}, "fraction": 0.5}));
    assert!(e.contains("labeler.inner.rate") && e.contains("invalid type"), "{e}");
    let e = check(json!({"kind": "easy", "inner": {"kind": "modle"}}));
    assert!(e.contains("labeler.inner.kind") && e.contains("unknown component `modle`"), "{e}");
    let e = check(json!({"kind": "noise", "matched_to": {"kind": "flip", "bogus": 1}}));
    assert!(e.contains("labeler.matched_to") && e.contains("bogus"), "{e}");
    let e =
        check(json!([{"kind": "noise", "rate": 0.1}, {"kind": "noise", "matched_to": {"kind": "noise", "rate": 7}}]));
    assert!(e.contains("labeler[1].matched_to.rate"), "{e}");
}

#[test]
fn a_panic_or_nan_logits_fail_only_their_run_and_finished_rows_are_kept() {
    let (r, env) = (registry(), env());
    let dir = tempfile::tempdir().unwrap();
    let p = tiny_preset(&["labeler=model", "objective=[\"test_panic\",\"xent\",\"test_logconf_nan_logits\"]"]);
    let out = run(&p, &r, &env, dir.path(), false).unwrap();
    assert_eq!(out.rows.len(), 1, "the xent run finishes: {:?}", out.failures);
    assert_eq!(out.failures.len(), 2, "{:?}", out.failures);
    assert!(
        out.failures.iter().any(|f| f.contains("panicked") && f.contains("test_panic: deliberate")),
        "{:?}",
        out.failures
    );
    assert!(
        out.failures.iter().any(|f| f.contains("test_logconf_nan_logits") && f.contains("NaN")),
        "NaN logits under logconf end in the trainer's error: {:?}",
        out.failures
    );
    let collected: Vec<SummaryRow> = w2s_runtime::results::read_csv(&dir.path().join("summary.csv")).unwrap();
    assert_eq!(collected.len(), 1);
}

/// Damage one file of every stage folder of `out` with `damage`.
fn damage_stages(out: &Path, file: &str, damage: &dyn Fn(&Path)) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(out.join("stages")).unwrap() {
        let f = entry.unwrap().path().join(file);
        if f.exists() {
            damage(&f);
            n += 1;
        }
    }
    n
}

#[test]
fn damaged_stage_and_summary_files_are_recomputed_not_fatal() {
    let (r, env) = (registry(), env());
    let dir = tempfile::tempdir().unwrap();
    let p = tiny_preset(&["labeler=model", "objective=xent"]);
    let first = run(&p, &r, &env, dir.path(), false).unwrap();
    assert!(first.failures.is_empty());
    let truncate = |f: &Path| {
        let bytes = std::fs::read(f).unwrap();
        std::fs::write(f, &bytes[..bytes.len() / 2]).unwrap();
    };
    let empty = |f: &Path| std::fs::write(f, "").unwrap();
    let garbage = |f: &Path| std::fs::write(f, "garbage\n\u{1}\u{2}nonsense,,,\n").unwrap();
    for (name, damage) in [("truncated", &truncate as &dyn Fn(&Path)), ("empty", &empty), ("garbage", &garbage)] {
        for file in ["weak_labels.csv", "test_probs.csv"] {
            assert!(damage_stages(dir.path(), file, damage) > 0, "{file} exists");
            let run_dir = dir.path().join(&first.rows[0].run_id);
            std::fs::remove_file(run_dir.join("summary.csv")).unwrap();
            let again = run(&p, &r, &env, dir.path(), false).unwrap();
            assert!(again.failures.is_empty(), "{name} {file}: {:?}", again.failures);
            assert_eq!(again.rows.len(), 1);
            // (Not compared with the first result: tests in one binary share libtorch's global RNG.)
            let stage_ok = damage_stages(dir.path(), file, &|f| {
                let text = std::fs::read_to_string(f).unwrap();
                assert!(text.starts_with("split,index,label,p0,p1,keep") && text.lines().count() > 60, "{name} {file}");
            });
            assert!(stage_ok > 0);
        }
        // A damaged run summary is recomputed too.
        damage(&dir.path().join(&first.rows[0].run_id).join("summary.csv"));
        let again = run(&p, &r, &env, dir.path(), false).unwrap();
        assert!(again.failures.is_empty() && again.reused == 0 && again.rows.len() == 1, "{name} summary");
    }
}

#[test]
fn another_presets_folder_is_refused_and_stale_temporaries_are_removed() {
    let (r, env) = (registry(), env());
    let dir = tempfile::tempdir().unwrap();
    let p = tiny_preset(&[
        "labeler={\"kind\":\"noise\",\"rate\":0.2}",
        "objective=xent",
        "task.n_train=60",
        "task.n_test=20",
    ]);
    let opts = |name: &str, force: bool| w2s_runtime::protocol::RunOptions {
        name: Some(name.into()),
        force,
        ..w2s_runtime::protocol::RunOptions::new(dir.path())
    };
    // A temporary file of a process that no longer runs (pid beyond the kernel's limit).
    let stale = dir.path().join("stages").join(".weak_labels.csv.tmp-4999999-0");
    std::fs::create_dir_all(stale.parent().unwrap()).unwrap();
    std::fs::write(&stale, "half-written").unwrap();
    w2s_runtime::protocol::run_preset(&p, &r, &env, &opts("first", false)).unwrap();
    assert!(!stale.exists(), "stale temporary removed");
    let err = format!("{:#}", w2s_runtime::protocol::run_preset(&p, &r, &env, &opts("second", false)).err().unwrap());
    assert!(err.contains("holds the results of preset `first`") && err.contains("--force"), "{err}");
    assert!(w2s_runtime::protocol::run_preset(&p, &r, &env, &opts("second", true)).is_ok());
}

#[test]
fn user_files_of_nested_specs_enter_the_identity() {
    let (r, env) = (registry(), env());
    let ckpt = tempfile::tempdir().unwrap();
    std::fs::write(ckpt.path().join("config.json"), "{}").unwrap();
    let strong = json!({"kind": "chess-text", "scorer": {"kind": "hf-decoder", "path": ckpt.path()}});
    let spec: w2s_core::Spec = serde_json::from_value(strong.clone()).unwrap();
    let files = r.data_files(w2s_core::registry::Kind::Backbone, &spec).unwrap();
    assert_eq!(files, vec![ckpt.path().to_path_buf()], "the scorer's checkpoint folder");
    // Editing a file of the nested checkpoint changes the ceiling's stage id.
    let mut v = serde_json::to_value(tiny_preset(&["labeler=model", "objective=xent"])).unwrap();
    v["strong"] = strong;
    let p = Preset::from_value(v, &[]).unwrap();
    let before = p.resolved_runs(&r, &env).unwrap()[0].ceiling_stage_id();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(ckpt.path().join("config.json"), "{\"edited\": true}").unwrap();
    assert_ne!(before, p.resolved_runs(&r, &env).unwrap()[0].ceiling_stage_id());
}
