//! Dynamic plugins: the example plugin loads with exactly its components, its preset runs with
//! built-in components, built-in presets use its components; bad libraries are refused clearly.

use std::path::PathBuf;

use w2s_core::{plugin, Preset};
use w2s_runtime::plugin_host;
use w2s_tests::{env, registry, run};

/// A cdylib that cargo built next to this test binary.
fn built_lib(name: &str) -> PathBuf {
    let deps = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    let file = libloading::library_filename(name);
    [deps.join(&file), deps.join("..").join(&file)]
        .into_iter()
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{} not built in {}", file.to_string_lossy(), deps.display()))
}

/// Log lines written through the host's global subscriber.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn example_plugin_adds_exactly_its_components_and_runs() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt().with_max_level(tracing::Level::DEBUG).with_writer(move || writer.clone()).init();
    let mut r = registry();
    let before = r.listing().len();
    let lib = built_lib("w2s_example_plugin");
    plugin_host::load(&mut r, &lib).unwrap();
    let origin = lib.display().to_string();
    let mut mine: Vec<(String, String)> =
        r.listing().into_iter().filter(|l| l.origin == origin).map(|l| (l.kind, l.name)).collect();
    mine.sort();
    assert_eq!(
        mine,
        [
            ("labeler", "keyword-vote"),
            ("objective", "smoothed-xent"),
            ("preset", "example-plugin"),
            ("task", "sentence-length")
        ]
        .map(|(k, n)| (k.to_string(), n.to_string()))
    );
    assert_eq!(r.listing().len(), before + 4, "nothing else added");

    // The plugin's preset (plugin task, labeler, objective + built-in backbones, labeler, objective).
    let p = Preset::from_value(
        serde_json::to_value((r.presets.get("example-plugin").unwrap().preset)()).unwrap(),
        &["task.n_train=120".into(), "task.n_test=60".into()],
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = run(&p, &r, &env(), out.path(), false).unwrap();
    assert!(o.failures.is_empty(), "{:?}", o.failures);
    assert_eq!(o.rows.len(), 4);
    let kv = o.rows.iter().find(|row| row.labeler == "keyword-vote").unwrap();
    assert!(kv.weak_acc > 0.55, "the keyword rule carries signal about length: {}", kv.weak_acc);
    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(text.contains("keyword-vote labelling"), "the plugin's debug log reaches the host's subscriber");

    // A built-in task with the plugin's labeler and objective.
    let mixed = w2s_tests::tiny_preset(&[
        "labeler=keyword-vote",
        "objective=smoothed-xent",
        "strong={\"kind\":\"bow\",\"size\":\"tiny\"}",
    ]);
    let o = run(&mixed, &r, &env(), out.path(), false).unwrap();
    assert!(o.failures.is_empty() && o.rows.len() == 1, "{:?}", o.failures);

    // Loading it again: every name is taken, and the error names both origins.
    let err = format!("{:#}", plugin_host::load(&mut r, &lib).unwrap_err());
    assert!(err.contains("duplicate") && err.matches(&origin).count() >= 2, "{err}");
}

#[test]
fn bad_libraries_are_refused_with_clear_errors() {
    let mut r = registry();
    let n = r.listing().len();
    let dir = tempfile::tempdir().unwrap();

    let text = dir.path().join("notes.so");
    std::fs::write(&text, "not a library").unwrap();
    let err = plugin_host::load(&mut r, &text).unwrap_err().to_string();
    assert!(err.contains("not a loadable shared library"), "{err}");

    let c10 = env().cache_dir.join("libtorch").join("lib").join("libc10.so");
    let err = plugin_host::load(&mut r, &c10).unwrap_err().to_string();
    assert!(err.contains("is not a w2s plugin") && err.contains("w2s_plugin_fingerprint"), "{err}");

    let bad = built_lib("w2s_bad_plugin");
    // One test walks the modes in turn: the fixture reads the variable at each load.
    std::env::set_var("W2S_BAD_PLUGIN", "fingerprint");
    let err = plugin_host::load(&mut r, &bad).unwrap_err().to_string();
    assert!(
        err.contains("w2s-core 0.0.1 / rustc 1.0.0")
            && err.contains(plugin::FINGERPRINT)
            && err.contains("rebuild the plugin"),
        "{err}"
    );

    std::env::set_var("W2S_BAD_PLUGIN", "panic");
    let err = plugin_host::load(&mut r, &bad).unwrap_err().to_string();
    assert!(err.contains("panicked during registration") && err.contains("on purpose"), "{err}");

    std::env::set_var("W2S_BAD_PLUGIN", "duplicate");
    let err = format!("{:#}", plugin_host::load(&mut r, &bad).unwrap_err());
    assert!(
        err.contains("duplicate objective `xent`")
            && err.contains("built-in (w2s_builtin")
            && err.contains(&bad.display().to_string()),
        "{err}"
    );
    std::env::remove_var("W2S_BAD_PLUGIN");

    assert_eq!(r.listing().len(), n, "a refused plugin adds nothing");
    assert!(r.objectives.get("bad-panicky").is_err());
}
