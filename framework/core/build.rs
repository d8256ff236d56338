//! The plugin ABI fingerprint (`w2s_core::plugin::FINGERPRINT`): what must be equal in a host and
//! a plugin for their Rust types to agree. It names
//! - this crate's version,
//! - the versions of the crates whose types cross the plugin boundary (tensors, errors, JSON values,
//!   deserializers, inventory entries, tracing dispatchers), as the lock file of the build pins
//!   them: the nearest `Cargo.lock` above the build's output folder (the workspace being built, a
//!   plugin's own or the host's), else the one above this crate;
//! - the rustc version.

use std::path::{Path, PathBuf};

/// The crates whose types cross the boundary, each with the package whose dependency it is.
const CROSSING: &[(&str, &str)] = &[
    ("anyhow", "w2s-core"),
    ("erased-serde", "w2s-core"),
    ("inventory", "w2s-core"),
    ("serde", "w2s-core"),
    ("serde_json", "w2s-core"),
    ("tch", "w2s-core"),
    ("torch-sys", "tch"),
    ("tracing", "w2s-core"),
    ("tracing-core", "tracing"),
];

/// One `[[package]]` of a lock file: name, version, dependency entries (`name` or `name version`).
struct Package {
    name: String,
    version: String,
    deps: Vec<String>,
}

fn parse_lock(text: &str) -> Vec<Package> {
    let mut out = Vec::new();
    for block in text.split("[[package]]").skip(1) {
        let field =
            |key: &str| block.lines().find_map(|l| l.strip_prefix(key)).map(|v| v.trim().trim_matches('"').to_string());
        let deps = match block.find("dependencies = [") {
            Some(at) => {
                let rest = &block[at + "dependencies = [".len()..];
                let list = &rest[..rest.find(']').unwrap_or(rest.len())];
                list.split(',').map(|d| d.trim().trim_matches('"').to_string()).filter(|d| !d.is_empty()).collect()
            }
            None => Vec::new(),
        };
        if let (Some(name), Some(version)) = (field("name = "), field("version = ")) {
            out.push(Package { name, version, deps });
        }
    }
    out
}

/// The version of `dep` that `parent` uses, from the lock file's packages.
fn version_of(packages: &[Package], dep: &str, parent: &str) -> String {
    let candidates: Vec<&Package> = packages.iter().filter(|p| p.name == dep).collect();
    if let [only] = candidates.as_slice() {
        return only.version.clone();
    }
    // Several versions in the lock: the parent's dependency entry says which (`name version`).
    let named = packages
        .iter()
        .filter(|p| p.name == parent)
        .flat_map(|p| &p.deps)
        .find_map(|d| d.strip_prefix(&format!("{dep} ")).map(|v| v.split(' ').next().unwrap_or(v).to_string()));
    named.unwrap_or_else(|| "unpinned".into())
}

fn nearest_lock(from: &Path) -> Option<PathBuf> {
    from.ancestors().map(|d| d.join("Cargo.lock")).find(|p| p.is_file())
}

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc_version = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown rustc".into());
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let lock = nearest_lock(&out_dir).or_else(|| nearest_lock(&manifest_dir));
    let packages = match &lock {
        Some(path) => {
            println!("cargo:rerun-if-changed={}", path.display());
            parse_lock(&std::fs::read_to_string(path).unwrap_or_default())
        }
        None => {
            println!("cargo:warning=no Cargo.lock found: the plugin ABI fingerprint names no dependency versions");
            Vec::new()
        }
    };
    let crates: Vec<String> =
        CROSSING.iter().map(|(dep, parent)| format!("{dep} {}", version_of(&packages, dep, parent))).collect();
    let fingerprint = format!(
        "w2s-core {} / {} / {}",
        std::env::var("CARGO_PKG_VERSION").unwrap_or_default(),
        crates.join(", "),
        rustc_version
    );
    println!("cargo:rustc-env=W2S_ABI_FINGERPRINT={fingerprint}");
    println!("cargo:rerun-if-env-changed=RUSTC");
    println!("cargo:rerun-if-changed=build.rs");
}
