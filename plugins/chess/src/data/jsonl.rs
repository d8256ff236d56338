//! An append-only JSON-lines cache that survives interruption: every record is written and
//! flushed as one line as soon as it is known, and on opening, lines that do not parse (a
//! truncated last line from an interrupted run) are dropped and the file rewritten without them.
//! The settings that made the records sit next to them in `settings.json`.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{de::DeserializeOwned, Serialize};
use sha2::{Digest, Sha256};

/// The first 16 hex digits of the sha256 of `value`'s JSON: a cache folder name for settings.
pub fn settings_hash(value: &impl Serialize) -> String {
    let json = serde_json::to_string(value).unwrap_or_default();
    Sha256::digest(json.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// A cache folder `<root>/<hash of settings>/` with `settings.json` written (pretty) in it.
pub fn settings_dir(root: &Path, settings: &impl Serialize) -> anyhow::Result<PathBuf> {
    let dir = root.join(settings_hash(settings));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("settings.json");
    if !path.exists() {
        std::fs::write(&path, serde_json::to_string_pretty(settings)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(dir)
}

/// An open JSON-lines file of `T` records.
pub struct Log {
    path: PathBuf,
    file: File,
}

impl Log {
    /// Open (creating) `path`; returns the log and the records already in it. Lines that do not
    /// parse are dropped (and counted in the returned `usize`).
    pub fn open<T: DeserializeOwned>(path: &Path) -> anyhow::Result<(Log, Vec<T>, usize)> {
        let mut records = Vec::new();
        let mut good = String::new();
        let mut dropped = 0;
        if path.exists() {
            let f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
            for line in BufReader::new(f).lines() {
                let line = line.with_context(|| format!("reading {}", path.display()))?;
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<T>(&line) {
                    Ok(r) => {
                        records.push(r);
                        good += &line;
                        good.push('\n');
                    }
                    Err(_) => dropped += 1,
                }
            }
            // Also a last line that parsed but lacks its newline is rewritten whole.
            let bytes = std::fs::metadata(path)?.len() as usize;
            if dropped > 0 || bytes != good.len() {
                w2s_core::atomic_file::write_atomic(path, good.as_bytes())?;
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok((Log { path: path.to_path_buf(), file }, records, dropped))
    }

    /// Append one record as a line, flushed.
    pub fn append<T: Serialize>(&mut self, record: &T) -> anyhow::Result<()> {
        let mut line = serde_json::to_string(record)?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|_| self.file.flush())
            .with_context(|| format!("appending to {}", self.path.display()))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_last_line_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.jsonl");
        std::fs::write(&p, "{\"a\":1}\n{\"a\":2}\n{\"a\":").unwrap();
        let (mut log, recs, dropped) = Log::open::<serde_json::Value>(&p).unwrap();
        assert_eq!((recs.len(), dropped), (2, 1));
        log.append(&serde_json::json!({"a": 3})).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");
        // The rewrite's temporary file is gone.
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["x.jsonl"]);
    }
}
