//! Content fingerprints of the user files a component reads (a task's data file, a backbone's
//! checkpoint folder), so that a run's identity changes when those files change: editing
//! `data.jsonl` and rerunning recomputes the runs that read it instead of reusing stale results.
//!
//! A fingerprint is the sha256 of the file's bytes (of every regular file, in path order, for a
//! folder). Hashes are cached on disk under `derived/fingerprints/`, keyed by the canonical path,
//! size and modification time, so that a large checkpoint is read once, not once per run.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Env;

/// What determines the contents of one user path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// The path as the spec gives it.
    pub path: String,
    /// Total size in bytes (of every file, for a folder).
    pub bytes: u64,
    /// sha256 of the contents, in hex.
    pub sha256: String,
}

/// The files under `path` (itself, for a file), sorted, with their sizes and modification times.
fn files_of(path: &Path) -> anyhow::Result<Vec<(PathBuf, u64, u128)>> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    let mtime = |m: &std::fs::Metadata| {
        m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos())
    };
    if meta.is_file() {
        return Ok(vec![(path.to_path_buf(), meta.len(), mtime(&meta))]);
    }
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("listing {}", path.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("listing {}", path.display()))?;
    entries.sort();
    for entry in entries {
        let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.starts_with('.') {
            continue; // hidden files (`.complete` markers, editor swap files) do not hold data
        }
        out.extend(files_of(&entry)?);
    }
    Ok(out)
}

/// The fingerprint of a user file or folder, computed once per (path, size, mtime) and cached.
pub fn fingerprint(env: &Env, path: &Path) -> anyhow::Result<Fingerprint> {
    let files = files_of(path).with_context(|| format!("fingerprinting {}", path.display()))?;
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let stamp: Vec<String> = files.iter().map(|(p, size, mtime)| format!("{}\t{size}\t{mtime}", p.display())).collect();
    let key: String = Sha256::digest(format!("{}\n{}", canonical.display(), stamp.join("\n")).as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    let bytes = files.iter().map(|f| f.1).sum();
    let cache = env.derived_dir("fingerprints").ok().map(|d| d.join(&key));
    if let Some(hit) = cache.as_ref().and_then(|c| std::fs::read_to_string(c).ok()) {
        let hit = hit.trim();
        if hit.len() == 64 && hit.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Fingerprint { path: path.display().to_string(), bytes, sha256: hit.to_string() });
        }
    }
    let mut hasher = Sha256::new();
    for (file, _, _) in &files {
        let rel = file.strip_prefix(path).unwrap_or(file);
        hasher.update(rel.display().to_string().as_bytes());
        hasher.update([0]);
        let mut f = std::fs::File::open(file).with_context(|| format!("reading {}", file.display()))?;
        std::io::copy(&mut f, &mut hasher).with_context(|| format!("reading {}", file.display()))?;
    }
    let sha256: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    if let Some(c) = cache {
        // A cache that cannot be written only costs a re-hash next time.
        let _ = crate::atomic_file::write_atomic(&c, sha256.as_bytes());
    }
    Ok(Fingerprint { path: path.display().to_string(), bytes, sha256 })
}

/// Fingerprints of several paths, in order.
pub fn fingerprints(env: &Env, paths: &[PathBuf]) -> anyhow::Result<Vec<Fingerprint>> {
    paths.iter().map(|p| fingerprint(env, p)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_change_the_fingerprint_and_the_cache_is_keyed_by_mtime() {
        let cache = tempfile::tempdir().unwrap();
        let env = Env { cache_dir: cache.path().to_path_buf(), device: tch::Device::Cpu, show_progress: false };
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("data.jsonl");
        std::fs::write(&f, "{\"text\": \"a\", \"label\": 0}\n").unwrap();
        let first = fingerprint(&env, &f).unwrap();
        assert_eq!(first, fingerprint(&env, &f).unwrap(), "cached: the same answer");
        // Same size, other contents (a flipped label): a new modification time, a new hash.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&f, "{\"text\": \"a\", \"label\": 1}\n").unwrap();
        let second = fingerprint(&env, &f).unwrap();
        assert_eq!(first.bytes, second.bytes);
        assert_ne!(first.sha256, second.sha256);
        // A folder: any file's change shows.
        std::fs::write(dir.path().join("config.json"), "{}").unwrap();
        let folder = fingerprint(&env, dir.path()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(dir.path().join("config.json"), "{\"n\": 1}").unwrap();
        assert_ne!(folder.sha256, fingerprint(&env, dir.path()).unwrap().sha256);
        let err = format!("{:#}", fingerprint(&env, &dir.path().join("missing")).unwrap_err());
        assert!(err.contains("missing"), "{err}");
    }
}
