//! `w2s new-plugin`: the skeleton builds as it is (cargo, against this checkout's w2s-core) and
//! loads, with its components under its own origin and its preset runnable.

use std::{path::Path, process::Command};

use w2s_runtime::plugin_host;

#[test]
fn skeleton_builds_and_loads() {
    let dir = tempfile::tempdir().unwrap();
    let crate_dir = w2s::new_plugin::write("my-plugin", dir.path()).unwrap();
    assert!(w2s::new_plugin::write("my-plugin", dir.path()).unwrap_err().to_string().contains("already exists"));
    assert!(w2s::new_plugin::write("9lives", dir.path()).is_err());

    // A target folder kept between test runs, so that only the first run compiles libtorch's bindings.
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("target").join("plugin-skeleton");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--release", "--quiet"])
        .current_dir(&crate_dir)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "skeleton build failed:\n{}", String::from_utf8_lossy(&out.stderr));

    let lib = target.join("release").join(libloading::library_filename("my_plugin"));
    let mut r = w2s_tests::registry();
    plugin_host::load(&mut r, &lib).unwrap();
    let origin = lib.display().to_string();
    let mut mine: Vec<String> =
        r.listing().into_iter().filter(|l| l.origin == origin).map(|l| format!("{} {}", l.kind, l.name)).collect();
    mine.sort();
    assert_eq!(mine, ["objective my-plugin-tempered-xent", "preset my-plugin-demo"]);

    let p = w2s_core::Preset::from_value(
        serde_json::to_value((r.presets.get("my-plugin-demo").unwrap().preset)()).unwrap(),
        &["task.n_train=100".into(), "task.n_test=50".into()],
    )
    .unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let o = w2s_tests::run(&p, &r, &w2s_tests::env(), out_dir.path(), false).unwrap();
    assert!(o.failures.is_empty() && o.rows.len() == 2, "{:?}", o.failures);
}
