//! Bootstrapping chains end to end: every link reported, strong-to-strong as a chain of the
//! strong backbone, disjoint slices, and bad chains refused before training.

use w2s_runtime::{protocol::chain::LinkRow, results::read_csv};
use w2s_tests::{env, registry, run, tiny_preset};

const STRONG: &str = r#"{"kind":"transformer","size":"tiny"}"#;

/// The tests of this file train one at a time: libtorch's generator is global to the process,
/// and a model trained on another test thread between a job's `manual_seed` and its
/// initialisation would change the weights that the equality of link 1 and the direct student
/// relies on (in a real run, runs train one after another).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[test]
fn a_chain_reports_every_link_and_strong_to_strong_starts_from_the_direct_student() {
    let _one = serial();
    let (r, env) = (registry(), env());
    let dir = tempfile::tempdir().unwrap();
    let chains = format!("chain=[[],[{STRONG}],[{STRONG},{STRONG}]]");
    let p = tiny_preset(&["labeler=model", "objective=xent", &chains]);
    let out = run(&p, &r, &env, dir.path(), false).unwrap();
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    assert_eq!(out.rows.len(), 3);
    let direct = out.rows.iter().find(|r| r.chain.is_empty()).unwrap();
    let one = out.rows.iter().find(|r| r.chain == "transformer(size=tiny)").unwrap();
    let two = out.rows.iter().find(|r| r.chain.matches("transformer").count() == 2).unwrap();
    assert!(!dir.path().join(&direct.run_id).join("chain.csv").exists(), "a direct run has no chain file");
    for row in [one, two] {
        // Same weak labels and ceiling as the direct transfer on the same data and seed.
        assert_eq!((row.weak_acc, row.strong_acc), (direct.weak_acc, direct.strong_acc));
        let links: Vec<LinkRow> = read_csv(&dir.path().join(&row.run_id).join("chain.csv")).unwrap();
        let n = links.len();
        assert_eq!(n, row.chain.matches("transformer").count() + 2, "weak, the links, the student");
        assert_eq!(links[0].test_acc, row.weak_acc, "link 0 is the weak supervisor");
        assert_eq!(links[n - 1].test_acc, row.w2s_acc, "the last link is the student");
        assert!(links.iter().map(|l| l.link).eq(0..n));
        for l in &links[1..] {
            assert!((0.0..=1.0).contains(&l.agreement_with_supervisor) && l.train_examples == 60, "{l:?}");
            let pgr = w2s_core::metrics::pgr(row.weak_acc, row.strong_acc, l.test_acc).0;
            assert!(pgr == l.pgr || (pgr.is_nan() && l.pgr.is_nan()));
        }
        // Link 1 learns from the weak labels like the direct student, from the same initialisation
        // and batches: it is the direct student (strong-to-strong's first iteration).
        assert_eq!(links[1].test_acc, direct.w2s_acc, "link 1 of [strong] is the direct student");
        assert_eq!(links[1].label_acc, direct.label_acc);
    }
    let curves = std::fs::read_to_string(dir.path().join(&two.run_id).join("curves.csv")).unwrap();
    assert!(curves.contains("link1") && curves.contains("link2") && curves.contains("student"));
    let table = w2s_runtime::report::table(&out.rows);
    assert!(table.contains("chain") && table.contains("direct"), "{table}");
}

#[test]
fn disjoint_chain_data_gives_each_link_its_own_slice() {
    let _one = serial();
    let (r, env) = (registry(), env());
    let dir = tempfile::tempdir().unwrap();
    let chains = format!("chain=[[{STRONG}]]");
    let p = tiny_preset(&["labeler=model", "objective=xent", &chains, "chain_data=disjoint"]);
    let out = run(&p, &r, &env, dir.path(), false).unwrap();
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    let links: Vec<LinkRow> = read_csv(&dir.path().join(&out.rows[0].run_id).join("chain.csv")).unwrap();
    // 60 examples of B in two slices of 30: link 1 and the student.
    assert_eq!(links.iter().map(|l| l.train_examples).collect::<Vec<_>>(), [0, 30, 30]);
    let same = tiny_preset(&["labeler=model", "objective=xent", &chains]);
    assert_ne!(p.runs()[0].id(), same.runs()[0].id(), "chain_data is part of a chained run's id");
}

#[test]
fn bad_chains_are_refused_before_training() {
    let (r, env) = (registry(), env());
    let e = format!("{:#}", tiny_preset(&["chain=[[\"xent\"]]"]).resolved_runs(&r, &env).unwrap_err());
    assert!(e.contains("chain[0][0]") && e.contains("xent"), "{e}");
    let e = format!("{:#}", tiny_preset(&["chain=[[],[]]"]).resolved_runs(&r, &env).unwrap_err());
    assert!(e.contains("chain") && e.contains("same chain"), "{e}");
    let e =
        w2s_core::Preset::from_value(serde_json::to_value(tiny_preset(&[])).unwrap(), &[format!("chain=[{STRONG}]")])
            .unwrap_err()
            .to_string();
    assert!(e.contains("chain"), "a chain is a list of links: {e}");
}
