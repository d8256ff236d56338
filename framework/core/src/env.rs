//! The environment a run sees: where cached assets live, which device to use, whether to draw
//! progress bars.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use sha2::{Digest, Sha256};
use tch::Device;

/// The command that fetches every asset.
pub const BOOTSTRAP: &str = "bash scripts/bootstrap.sh";

/// What every component may need from outside: the cache folder and the device.
#[derive(Debug, Clone)]
pub struct Env {
    /// The one cache folder: libtorch, fetched assets, feature caches. `$W2S_CACHE`, or
    /// `.w2s-cache` at the root of the w2s checkout.
    pub cache_dir: PathBuf,
    pub device: Device,
    pub show_progress: bool,
}

impl Env {
    /// From `$W2S_CACHE` (or the default cache folder), on the CPU, with progress bars.
    pub fn from_env() -> Self {
        let cache_dir = std::env::var_os("W2S_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(".w2s-cache"));
        Env { cache_dir, device: Device::Cpu, show_progress: true }
    }

    /// The folder of a fetched asset (`minilm`, `vader`, ...), or an error saying how to fetch it.
    /// A large asset fetched on demand (one that `scripts/fetch.sh` knows: `gemma3`, `mpnet`) is
    /// fetched now if it is missing, unless `$W2S_NO_FETCH` is set.
    pub fn asset_dir(&self, name: &str) -> anyhow::Result<PathBuf> {
        let dir = self.cache_dir.join("assets").join(name);
        if !dir.join(".complete").exists() && on_demand(name) && std::env::var_os("W2S_NO_FETCH").is_none() {
            tracing::info!("asset `{name}` is missing: fetching it ({FETCH} {name})");
            fetch(name, &self.cache_dir)?;
        }
        if !dir.join(".complete").exists() && on_demand(name) {
            bail!(
                "asset `{name}` is missing: expected it in {}. Fetch it with `w2s fetch {name}` or `{FETCH} {name}` \
                 (set W2S_CACHE to use another cache folder)",
                dir.display()
            );
        }
        if !dir.join(".complete").exists() {
            bail!(
                "asset `{name}` is missing: expected it in {}. Fetch it with `{BOOTSTRAP}` \
                 (set W2S_CACHE to use another cache folder)",
                dir.display()
            );
        }
        Ok(dir)
    }

    /// Where derived data (feature caches, ...) of one kind is kept.
    pub fn derived_dir(&self, what: &str) -> anyhow::Result<PathBuf> {
        let dir = self.cache_dir.join("derived").join(what);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating cache folder {}", dir.display()))?;
        Ok(dir)
    }
}

/// The command that fetches one large asset on demand.
pub const FETCH: &str = "bash scripts/fetch.sh";

/// The w2s checkout this binary was built from (where `scripts/` is).
fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether `name` is an asset fetched on demand (`scripts/fetch.d/NAME.sh` exists).
pub fn on_demand(name: &str) -> bool {
    !name.is_empty()
        && !name.contains(['/', '.'])
        && checkout().join("scripts/fetch.d").join(format!("{name}.sh")).is_file()
}

/// The names of the assets fetched on demand, sorted.
pub fn on_demand_assets() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(checkout().join("scripts/fetch.d"))
        .map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".sh").map(str::to_string)).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// Fetch the on-demand asset `name` into `cache_dir` (`scripts/fetch.sh NAME`, its progress on
/// standard error; safe from concurrent processes).
pub fn fetch(name: &str, cache_dir: &Path) -> anyhow::Result<()> {
    let script = checkout().join("scripts/fetch.sh");
    let status = std::process::Command::new("bash")
        .arg(&script)
        .arg(name)
        .env("W2S_CACHE", cache_dir)
        .status()
        .with_context(|| format!("running {}", script.display()))?;
    if !status.success() {
        bail!("fetching asset `{name}` failed ({FETCH} {name} exited with {status}); its output above says why");
    }
    Ok(())
}

/// What a fetched file must be.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub size: u64,
    /// sha256 in hex; `None` checks the size only (for large files read on every run).
    pub sha256: Option<&'a str>,
}

/// Check a fetched file's size (and sha256), with an error that says how to repair it.
pub fn verify_file(path: &Path, expected: Expected<'_>) -> anyhow::Result<()> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("asset file {} is missing; fetch it with `{BOOTSTRAP}`", path.display()))?;
    let fix = |what: String| {
        anyhow::anyhow!(
            "asset file {} is corrupt ({what}). Remove its folder (rm -rf {}) and run `{BOOTSTRAP}` again",
            path.display(),
            path.parent().map(|p| p.display().to_string()).unwrap_or_default()
        )
    };
    if meta.len() != expected.size {
        return Err(fix(format!("size {} bytes, expected {}", meta.len(), expected.size)));
    }
    if let Some(want) = expected.sha256 {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let got: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        if got != want {
            return Err(fix(format!("sha256 {got}, expected {want}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_asset_names_the_bootstrap_command() {
        let dir = tempfile::tempdir().unwrap();
        let env = Env { cache_dir: dir.path().to_path_buf(), device: Device::Cpu, show_progress: false };
        let err = env.asset_dir("minilm").unwrap_err().to_string();
        assert!(err.contains("asset `minilm` is missing") && err.contains(BOOTSTRAP), "{err}");
    }

    #[test]
    fn on_demand_assets_are_the_fetch_scripts_parts() {
        assert!(on_demand("gemma3") && on_demand_assets().contains(&"gemma3".to_string()));
        assert!(!on_demand("minilm") && !on_demand("../fetch") && !on_demand(""));
        let dir = tempfile::tempdir().unwrap();
        let err = fetch("no-such-asset", dir.path()).unwrap_err().to_string();
        assert!(err.contains("no-such-asset") && err.contains("exited"), "{err}");
    }

    #[test]
    fn corrupt_file_is_refused_with_a_fix() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.txt");
        std::fs::write(&f, b"hello").unwrap();
        // sha256("hello")
        let good = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
        verify_file(&f, Expected { size: 5, sha256: Some(good) }).unwrap();
        std::fs::write(&f, b"hellO").unwrap();
        let err = verify_file(&f, Expected { size: 5, sha256: Some(good) }).unwrap_err().to_string();
        assert!(err.contains("corrupt") && err.contains("sha256") && err.contains(BOOTSTRAP), "{err}");
        let err = verify_file(&f, Expected { size: 6, sha256: None }).unwrap_err().to_string();
        assert!(err.contains("size 5 bytes, expected 6"), "{err}");
    }
}
