//! The one atomic writer of w2s (temporary file + fsync + rename, so an interrupted or failed
//! write never leaves a half-written file or overwrites a finished one), used by the runtime's
//! results and by every component that writes a file (feature caches, adapted weights, chess data).

use std::path::Path;

use anyhow::Context;

/// The marker in the names of temporary files: `.NAME.tmp-PID-N`.
pub const TMP_MARKER: &str = ".tmp-";

/// Write `bytes` to `path` through a temporary file in the same folder, fsync and a rename (see
/// [`write_atomic_with`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_atomic_with(path, |tmp| {
        use std::io::Write;
        let mut f = std::fs::File::create(tmp)?;
        f.write_all(bytes)?;
        Ok(())
    })
}

/// The one atomic writer of w2s: `write` fills a temporary file next to `path`, which is then
/// fsynced and renamed over `path`, so that a reader sees the old file or the whole new one, never
/// a part. The temporary name is unique per process and call (`.NAME.tmp-PID-N`), so neither two
/// processes nor two threads write into each other's file; on failure it is removed, and one left
/// behind by a crash is removed by [`remove_stale_temporaries`].
pub fn write_atomic_with(path: &Path, write: impl FnOnce(&Path) -> anyhow::Result<()>) -> anyhow::Result<()> {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating folder {}", dir.display()))?;
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(
        ".{}{TMP_MARKER}{}-{n}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let result = write(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))
        .and_then(|_| {
            std::fs::File::open(&tmp).and_then(|f| f.sync_all()).with_context(|| format!("syncing {}", tmp.display()))
        })
        .and_then(|_| {
            std::fs::rename(&tmp, path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Whether a process with this id is running (on Linux, through `/proc`).
fn process_alive(pid: u32) -> bool {
    pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists()
}

/// Remove temporary files (`.NAME.tmp-PID[-N]`) that a process which is no longer running left
/// in `dir` or its sub-folders (two levels: run folders and `stages/*`). Returns how many.
pub fn remove_stale_temporaries(dir: &Path) -> usize {
    fn walk(dir: &Path, depth: usize, removed: &mut usize) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            if path.is_dir() {
                if depth > 0 {
                    walk(&path, depth - 1, removed);
                }
                continue;
            }
            let Some(pos) = name.find(TMP_MARKER) else { continue };
            let pid = name[pos + TMP_MARKER.len()..].split('-').next().and_then(|p| p.parse::<u32>().ok());
            if name.starts_with('.') && pid.is_some_and(|p| !process_alive(p)) && std::fs::remove_file(&path).is_ok() {
                *removed += 1;
            }
        }
    }
    let mut removed = 0;
    walk(dir, 2, &mut removed);
    if removed > 0 {
        tracing::info!("removed {removed} temporary file(s) left in {} by an interrupted run", dir.display());
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_from_many_threads_leave_one_whole_file_and_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("summary.csv");
        std::thread::scope(|s| {
            for t in 0..8u8 {
                let f = &f;
                s.spawn(move || {
                    for _ in 0..20 {
                        write_atomic(f, &vec![b'a' + t; 10_000]).unwrap();
                    }
                });
            }
        });
        let bytes = std::fs::read(&f).unwrap();
        assert_eq!(bytes.len(), 10_000);
        assert!(bytes.iter().all(|&b| b == bytes[0]), "one writer's whole file");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["summary.csv"]);
        // A writer that fails leaves nothing behind.
        assert!(write_atomic_with(&f, |_| anyhow::bail!("disk full")).is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
