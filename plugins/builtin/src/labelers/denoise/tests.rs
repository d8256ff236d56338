//! The denoising labelers end to end on a task whose texts separate the classes (by their words,
//! read by `bow`'s hashed word counts) and whose weak labels have planted noise; and bad input.

use serde_json::{json, Value};
use w2s_core::{metrics::argmax, rng, Dataset, Example, Spec, WeakLabels};

use crate::labelers::{label_for_test, label_for_test_in, test_dataset, test_spec};

/// `n` training (and test) examples over `k` classes: each text has three words of its class's
/// five and three of twenty shared filler words, so that word counts separate the classes.
fn worded_dataset(n: usize, k: usize) -> Dataset {
    let make = |i: usize, split: &str| {
        let c = i % k;
        let mut words = Vec::new();
        for w in 0..3 {
            words.push(format!("class{c}word{}", rng::key(5, &format!("{split}-own-{w}"), i as u64) % 5));
            words.push(format!("filler{}", rng::key(5, &format!("{split}-fill-{w}"), i as u64) % 20));
        }
        Example::new(words.join(" "), c)
    };
    Dataset {
        n_classes: k,
        class_names: (0..k).map(|c| format!("c{c}")).collect(),
        train: (0..n).map(|i| make(i, "train")).collect(),
        test: (0..n).map(|i| make(i, "test")).collect(),
    }
}

/// Noisy soft labels (confidence 0.9) at `rate` 0.2: the planted flips are where their argmax
/// differs from the truth.
fn noisy_inner() -> Value {
    json!({"kind": "noise", "rate": 0.2, "confidence": 0.9})
}

fn bow() -> Value {
    json!({"kind": "bow"})
}

struct Setup {
    data: Dataset,
    b: Vec<usize>,
    noisy: WeakLabels,
    flipped: Vec<bool>,
}

fn setup(n: usize, k: usize) -> Setup {
    let data = worded_dataset(n, k);
    let b: Vec<usize> = (0..n).filter(|i| i % 3 != 0).collect();
    let inner: Spec = serde_json::from_value(noisy_inner()).unwrap();
    let noisy = label_for_test(&inner, &data, &b, 4).unwrap();
    let flipped: Vec<bool> = b.iter().enumerate().map(|(j, &i)| argmax(&noisy.b[j]) != data.train[i].label).collect();
    let share = flipped.iter().filter(|&&f| f).count() as f64 / b.len() as f64;
    assert!((0.12..0.28).contains(&share), "planted noise {share}");
    Setup { data, b, noisy, flipped }
}

fn run(kind: &str, params: Value, s: &Setup) -> WeakLabels {
    label_for_test(&test_spec(kind, params), &s.data, &s.b, 4).unwrap()
}

/// Precision and recall of the dropped examples against the planted flips.
fn precision_recall(wl: &WeakLabels, flipped: &[bool]) -> (f64, f64) {
    let dropped: Vec<usize> = (0..flipped.len()).filter(|&i| !wl.keep[i]).collect();
    let hits = dropped.iter().filter(|&&i| flipped[i]).count() as f64;
    (hits / dropped.len().max(1) as f64, hits / flipped.iter().filter(|&&f| f).count() as f64)
}

#[test]
fn probe_filter_drops_mostly_the_planted_flips() {
    let s = setup(300, 2);
    for probe in [json!({"probe": "knn", "k": 10}), json!({"probe": "logreg"})] {
        let mut params = json!({"inner": noisy_inner(), "features": bow(), "contamination": 0.2});
        params.as_object_mut().unwrap().extend(probe.as_object().unwrap().clone());
        let wl = run("probe-filter", params, &s);
        let (p, r) = precision_recall(&wl, &s.flipped);
        let dropped = wl.keep.iter().filter(|&&k| !k).count();
        println!("probe_filter {probe}: dropped {dropped}, precision {p:.3}, recall {r:.3}");
        assert_eq!(dropped, (0.2 * s.b.len() as f64).floor() as usize);
        assert!(p >= 0.8 && r >= 0.8, "{probe}: precision {p}, recall {r}");
        assert_eq!((&wl.b, &wl.test), (&s.noisy.b, &s.noisy.test), "labels pass through");
    }
}

#[test]
fn probe_relabel_fixes_most_of_the_planted_flips() {
    let s = setup(300, 2);
    let wl = run("probe-relabel", json!({"inner": noisy_inner(), "features": bow(), "k": 10}), &s);
    let truth = |j: usize| s.data.train[s.b[j]].label;
    let flips: Vec<usize> = (0..s.b.len()).filter(|&j| s.flipped[j]).collect();
    let fixed = flips.iter().filter(|&&j| argmax(&wl.b[j]) == truth(j)).count() as f64 / flips.len() as f64;
    let right = (0..s.b.len()).filter(|&j| argmax(&wl.b[j]) == truth(j)).count() as f64 / s.b.len() as f64;
    println!("probe-relabel: fixed {fixed:.3} of the flips; accuracy on B {right:.3}");
    assert!(fixed >= 0.8 && right >= 0.9, "fixed {fixed}, accuracy {right}");
    assert_eq!((&wl.keep, &wl.test), (&s.noisy.keep, &s.noisy.test));
    assert!(wl.b.iter().all(|p| (p.iter().sum::<f32>() - 1.0).abs() < 1e-5), "soft distributions");
}

#[test]
fn confident_learning_finds_most_of_the_planted_flips() {
    for (k, probe) in [(2, json!({"probe": "knn", "k": 10})), (3, json!({"probe": "logreg"}))] {
        let s = setup(450, k);
        for filter_by in ["prune_by_noise_rate", "confident_joint"] {
            let mut params = json!({"inner": noisy_inner(), "features": bow(), "filter_by": filter_by});
            params.as_object_mut().unwrap().extend(probe.as_object().unwrap().clone());
            let wl = run("confident-learning", params, &s);
            let (p, r) = precision_recall(&wl, &s.flipped);
            println!("confident_learning {k} classes {probe} {filter_by}: precision {p:.3}, recall {r:.3}");
            assert!(p >= 0.8 && r >= 0.8, "{k} classes, {probe}, {filter_by}: precision {p}, recall {r}");
            assert_eq!((&wl.b, &wl.test), (&s.noisy.b, &s.noisy.test), "labels pass through");
        }
    }
}

#[test]
fn the_inner_labelers_abstentions_stay_and_are_not_fitted_on() {
    // Inner: `easy` keeps the shortest 60% of ground truth; the filter drops 10% of those.
    let data = test_dataset(60, 2);
    let b: Vec<usize> = (0..60).filter(|i| i % 2 == 0).collect();
    let easy = json!({"kind": "easy", "inner": "ground-truth", "fraction": 0.6});
    let inner = label_for_test(&serde_json::from_value(easy.clone()).unwrap(), &data, &b, 1).unwrap();
    let spec = test_spec("probe-filter", json!({"inner": easy, "features": bow(), "k": 3}));
    let wl = label_for_test(&spec, &data, &b, 1).unwrap();
    assert!(wl.keep.iter().zip(&inner.keep).all(|(&k, &i)| i || !k), "abstentions stay");
    let before = inner.keep.iter().filter(|&&k| k).count();
    assert_eq!(wl.keep.iter().filter(|&&k| k).count(), before - before / 10);
}

fn error(kind: &str, params: Value) -> String {
    let data = test_dataset(40, 2);
    let b: Vec<usize> = (0..40).filter(|i| i % 2 == 0).collect();
    format!("{:#}", label_for_test(&test_spec(kind, params), &data, &b, 1).unwrap_err())
}

#[test]
fn bad_input_names_the_field_and_what_was_expected() {
    let base = |extra: Value| {
        let mut p = json!({"inner": "ground-truth", "features": bow()});
        p.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        p
    };
    for c in [0.0, 1.0, 1.5, -0.1] {
        let e = error("probe-filter", base(json!({"contamination": c})));
        assert!(e.contains("parameter `contamination`: expected a share of B to drop in (0, 1)"), "{c}: {e}");
    }
    for kind in ["probe-filter", "probe-relabel", "confident-learning"] {
        // The default inner labeler (the weak model) never trains: features are read first.
        let e = error(kind, json!({"features": {"kind": "transformer", "size": "tiny"}}));
        assert!(
            e.contains("parameter `features`: backbone transformer(size=tiny) cannot give features (use one with a probe mode: minilm, smollm2, gpt2, hf-decoder)"),
            "{kind}: {e}"
        );
        let e = error(kind, json!({"inner": "ground-truth"}));
        assert!(e.contains("parameter `features`: expected a backbone spec"), "{kind}: {e}");
        let e = error(kind, base(json!({"folds": 1})));
        assert!(e.contains("parameter `folds`: expected at least 2"), "{kind}: {e}");
        let e = error(kind, base(json!({"folds": 21})));
        assert!(
            e.contains("parameter `folds`: expected at most the number of examples of B that the inner labeler keeps (20), got 21"),
            "{kind}: {e}"
        );
        let e = error(kind, base(json!({"k": 0})));
        assert!(e.contains("parameter `k`: expected at least 1"), "{kind}: {e}");
        let e = error(kind, base(json!({"k": 17})));
        assert!(
            e.contains("parameter `k`: expected at most the number of examples a fold's probe is fitted on (16)"),
            "{kind}: {e}"
        );
        let e = error(kind, base(json!({"probe": "svm"})));
        assert!(e.contains("probe") && e.contains("unknown variant `svm`, expected `knn` or `logreg`"), "{kind}: {e}");
        let e = error(kind, base(json!({"features": {"kind": "no-such-backbone"}})));
        assert!(e.contains("parameter `features`"), "{kind}: {e}");
    }
    let e = error("confident-learning", base(json!({"filter_by": "both"})));
    assert!(e.contains("filter_by") && e.contains("unknown variant `both`"), "{e}");
}

/// An environment whose cache links the fetched assets but keeps its derived files (features)
/// in `dir`.
fn env_with_assets(dir: &std::path::Path) -> w2s_core::Env {
    let real = w2s_core::Env::from_env();
    std::os::unix::fs::symlink(real.cache_dir.join("assets"), dir.join("assets")).unwrap();
    w2s_core::Env { cache_dir: dir.to_path_buf(), show_progress: false, ..real }
}

/// `features` of a pretrained backbone, whatever its `mode`, are the (cached) features its
/// probe-mode classifier trains on; a backbone trained from scratch has none.
#[test]
fn backbone_features_are_the_probe_students_features() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_with_assets(dir.path());
    let registry = w2s_core::Registry::with_builtins().unwrap();
    let texts = ["a wonderful film", "dull and far too long", "the the the"];
    let specs = [
        (
            json!({"kind": "minilm", "mode": "full", "max_len": 16}),
            json!({"kind": "minilm", "mode": "probe", "max_len": 16}),
        ),
        (json!({"kind": "smollm2", "layers": 2, "mode": "full"}), json!({"kind": "smollm2", "layers": 2})),
    ];
    for (asked, probe) in specs {
        let bb = registry.backbone(&serde_json::from_value(asked.clone()).unwrap()).unwrap();
        let f = bb.features(&env, &texts).unwrap().expect("a pretrained backbone gives features");
        let again = bb.features(&env, &texts).unwrap().unwrap();
        let student = registry.backbone(&serde_json::from_value(probe).unwrap()).unwrap();
        let w2s_core::Inputs::Features(want) = student.build(&env, 2).unwrap().encode(&texts, &env).unwrap() else {
            panic!("a probe encodes features")
        };
        assert_eq!(f.size(), want.size(), "{asked}");
        assert_eq!(f.size()[0], 3);
        assert!(f.equal(&want) && again.equal(&want), "{asked}: the probe student's features");
    }
    let cached = w2s_models::feature_bank::chunks(&env).unwrap();
    assert!(cached >= 2, "features are cached on disk ({cached} chunks)");
    let scratch = registry.backbone(&Spec::new("transformer")).unwrap();
    assert!(scratch.features(&env, &texts).unwrap().is_none());
    let bow = registry.backbone(&Spec::new("bow")).unwrap().features(&env, &texts).unwrap().unwrap();
    assert_eq!(bow.size(), [3, crate::backbones::bow::HASHED_DIM as i64]);
}

/// With MiniLM's features, the denoisers undo planted noise on short reviews.
#[test]
fn minilm_features_undo_planted_noise_on_reviews() {
    let good = ["wonderful", "delightful", "brilliant", "moving", "superb", "charming"];
    let bad = ["terrible", "boring", "awful", "dreadful", "tedious", "painful"];
    let what = ["film", "movie", "story", "cast", "script", "ending"];
    let make = |i: usize| {
        let c = i % 2;
        let adj = if c == 1 { good } else { bad };
        let pick = |s: &str, n: usize| (rng::key(9, s, i as u64) % n as u64) as usize;
        Example::new(format!("the {} was {}", what[pick("what", 6)], adj[pick("adj", 6)]), c)
    };
    let data = Dataset {
        n_classes: 2,
        class_names: vec!["negative".into(), "positive".into()],
        train: (0..150).map(make).collect(),
        test: (0..20).map(make).collect(),
    };
    let b: Vec<usize> = (0..150).filter(|i| i % 3 != 0).collect();
    let dir = tempfile::tempdir().unwrap();
    let env = env_with_assets(dir.path());
    let label = |v: Value| label_for_test_in(&env, &serde_json::from_value(v).unwrap(), &data, &b, 2).unwrap();
    let noisy = label(noisy_inner());
    let flipped: Vec<bool> = b.iter().enumerate().map(|(j, &i)| argmax(&noisy.b[j]) != data.train[i].label).collect();
    let features = json!({"kind": "minilm", "mode": "probe"});
    let relabelled = label(json!({"kind": "probe-relabel", "inner": noisy_inner(), "features": features, "k": 10}));
    let fixed = (0..b.len()).filter(|&j| flipped[j] && argmax(&relabelled.b[j]) == data.train[b[j]].label).count();
    let flips = flipped.iter().filter(|&&f| f).count();
    let filtered = label(
        json!({"kind": "probe-filter", "inner": noisy_inner(), "features": features, "k": 10, "contamination": 0.2}),
    );
    let (p, r) = precision_recall(&filtered, &flipped);
    let cl = label(json!({"kind": "confident-learning", "inner": noisy_inner(), "features": features, "k": 10}));
    let (cp, cr) = precision_recall(&cl, &flipped);
    println!("minilm: relabel fixed {fixed} of {flips} flips; filter precision {p:.3} recall {r:.3}; CL precision {cp:.3} recall {cr:.3}");
    assert!(fixed as f64 >= 0.8 * flips as f64, "relabel fixed {fixed} of {flips}");
    assert!(p >= 0.8 && r >= 0.8, "filter: precision {p}, recall {r}");
    assert!(cp >= 0.8 && cr >= 0.8, "confident learning: precision {cp}, recall {cr}");
}
