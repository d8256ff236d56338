//! Advisory locks between processes on one output folder or cache (flock(2), through the
//! standard library's `File::lock` / `File::try_lock`). A lock belongs to its open file: it is
//! released when the [`FileLock`] is dropped, and by the OS when its process dies (kill -9, a node
//! lost), so a stage whose worker died is simply unclaimed. Two locks on one file taken by one
//! process through two `FileLock`s also exclude each other (flock locks belong to the open file
//! description), so a process never takes a lock it already holds.
//!
//! The lock files are empty and are never removed (removing one while another process waits on it
//! would let a third take a new file of the same name).

use std::{
    fs::{File, OpenOptions, TryLockError},
    path::{Path, PathBuf},
};

use anyhow::Context;

/// A held exclusive lock on a file.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
    path: PathBuf,
}

impl FileLock {
    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn open(path: &Path) -> anyhow::Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating the lock folder {}", dir.display()))?;
    }
    OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path).map_err(|e| {
        let owner = owner_of(path).map(|uid| format!(" (the file belongs to user id {uid})")).unwrap_or_default();
        anyhow::anyhow!(e).context(format!(
            "cannot open the lock file {}{owner}: another user's run may hold this folder; use another output folder",
            path.display()
        ))
    })
}

/// The user id that owns `path`, if it can be read.
pub fn owner_of(path: &Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| m.uid())
}

/// Take the exclusive lock on `path` (created if missing), waiting for whoever holds it.
pub fn lock(path: &Path) -> anyhow::Result<FileLock> {
    let file = open(path)?;
    file.lock().with_context(|| format!("locking {}", path.display()))?;
    Ok(FileLock { _file: file, path: path.to_path_buf() })
}

/// Take the exclusive lock on `path` if no one holds it; `None` if someone does.
pub fn try_lock(path: &Path) -> anyhow::Result<Option<FileLock>> {
    let file = open(path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(FileLock { _file: file, path: path.to_path_buf() })),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(anyhow::anyhow!(e).context(format!("locking {}", path.display()))),
    }
}

/// Whether some open file holds the lock on `path` now (a missing file: no one). Takes and drops
/// the lock when it is free, so it is for displays, not for deciding who computes.
pub fn is_held(path: &Path) -> bool {
    let Ok(file) = File::open(path) else { return false };
    matches!(file.try_lock(), Err(TryLockError::WouldBlock))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_excludes_others_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locks/a.lock");
        assert!(!is_held(&path));
        let held = try_lock(&path).unwrap().expect("free at first");
        assert!(is_held(&path));
        assert!(try_lock(&path).unwrap().is_none(), "a second lock on the same file must wait");
        drop(held);
        assert!(!is_held(&path));
        assert!(try_lock(&path).unwrap().is_some());
    }

    #[test]
    fn a_blocking_lock_waits_for_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.lock");
        let held = lock(&path).unwrap();
        let p = path.clone();
        let waiter = std::thread::spawn(move || {
            let started = std::time::Instant::now();
            let _l = lock(&p).unwrap();
            started.elapsed()
        });
        std::thread::sleep(std::time::Duration::from_millis(200));
        drop(held);
        assert!(waiter.join().unwrap() >= std::time::Duration::from_millis(150));
    }
}
