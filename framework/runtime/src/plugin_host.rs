//! The host side of dynamic plugins (see `w2s_core::plugin` for the plugin side): load a shared
//! library, refuse it unless its ABI fingerprint is this build's, let it register its components
//! into a fresh registry, and merge that into the host's, all or nothing.
//!
//! Libraries are never unloaded: their function pointers live in the registry.

use std::{
    ffi::{c_char, CStr},
    path::{Path, PathBuf},
    sync::Mutex,
};

use anyhow::{anyhow, bail, Context};
use w2s_core::{
    plugin::{HostCall, FINGERPRINT},
    Registry,
};

/// The environment variable with extra plugin paths (files, or folders of libraries), `:`-separated.
pub const PLUGIN_PATH_VAR: &str = "W2S_PLUGIN_PATH";

/// Libraries loaded so far (kept alive for the whole process).
static LOADED: Mutex<Vec<(PathBuf, libloading::Library)>> = Mutex::new(Vec::new());

/// Load the plugin at `path` and add its components to `registry`. The origin of each component
/// is the library's path.
pub fn load(registry: &mut Registry, path: &Path) -> anyhow::Result<()> {
    let shown = path.display().to_string();
    if !path.exists() {
        bail!("plugin {shown} does not exist");
    }
    // SAFETY: loading a library runs its initialisers; a w2s plugin's are inventory's registrations.
    let lib = unsafe { libloading::Library::new(path) }
        .map_err(|e| anyhow!("plugin {shown} is not a loadable shared library: {e}"))?;
    // SAFETY: the symbol's type is fixed by `export_plugin!`.
    let fingerprint = unsafe { lib.get::<extern "C" fn() -> *const c_char>(b"w2s_plugin_fingerprint\0") }.map_err(|_| {
        anyhow!("{shown} is not a w2s plugin: it exports no `w2s_plugin_fingerprint` (a plugin writes `w2s_core::export_plugin!();` in its lib.rs)")
    })?;
    // SAFETY: the plugin returns a pointer to a static NUL-terminated string.
    let theirs = unsafe { CStr::from_ptr(fingerprint()) }.to_string_lossy().into_owned();
    if theirs != FINGERPRINT {
        bail!(
            "plugin {shown} was built for `{theirs}`, but this w2s is `{FINGERPRINT}`: \
             rebuild the plugin against this w2s (cargo build --release in the plugin's crate)"
        );
    }
    // SAFETY: same build of w2s-core (fingerprint checked), so `HostCall` has the same layout.
    let register = unsafe { lib.get::<unsafe extern "C" fn(*mut HostCall)>(b"w2s_plugin_register\0") }
        .map_err(|_| anyhow!("{shown} is not a w2s plugin: it exports no `w2s_plugin_register`"))?;
    let mut call = HostCall {
        origin: shown.clone(),
        dispatch: tracing::dispatcher::get_default(|d| d.clone()),
        drawer: w2s_core::progress::drawer(),
        result: None,
        error: None,
    };
    // SAFETY: `call` lives across the call; panics are caught inside the plugin.
    unsafe { register(&mut call) };
    if let Some(e) = call.error {
        bail!("plugin {shown}: {e}");
    }
    let theirs = call.result.context("plugin returned no registry")?;
    registry.merge(theirs).with_context(|| format!("loading plugin {shown}"))?;
    tracing::info!(plugin = %shown, "plugin loaded");
    LOADED.lock().expect("plugin list lock").push((path.to_path_buf(), lib));
    Ok(())
}

/// The plugin libraries named by `$W2S_PLUGIN_PATH` (files, or every shared library in a folder).
pub fn paths_from_env() -> Vec<PathBuf> {
    let Some(var) = std::env::var_os(PLUGIN_PATH_VAR) else { return Vec::new() };
    let mut out = Vec::new();
    for p in std::env::split_paths(&var).filter(|p| !p.as_os_str().is_empty()) {
        if p.is_dir() {
            let mut libs: Vec<PathBuf> = std::fs::read_dir(&p)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|f| f.extension().is_some_and(|e| e == std::env::consts::DLL_EXTENSION))
                .collect();
            libs.sort();
            out.extend(libs);
        } else {
            out.push(p);
        }
    }
    out
}
