//! Dynamic plugins: tasks, labelers, objectives, backbones and presets loaded at run time from a
//! shared library (`cdylib`), into the same [`Registry`] as the built-in ones.
//!
//! A plugin crate depends on `w2s-core` only, registers its components with [`register!`] /
//! [`register_preset!`] like built-in code, and writes [`export_plugin!`] once. That macro exports
//! two `extern "C"` entry points:
//! - `w2s_plugin_fingerprint`: the ABI fingerprint (w2s-core version + rustc version). Rust has
//!   no stable ABI, so the host refuses a plugin whose fingerprint differs from its own.
//! - `w2s_plugin_register`: walks the plugin's *own* inventory (a cdylib has its own copy of the
//!   core crate, invisible to the host's `inventory::iter`) into a fresh registry that the host
//!   then merges, all or nothing; panics are caught inside the plugin; the host's tracing
//!   dispatcher is installed in the plugin so its logs reach the host's subscriber.
//!
//! Libraries are never unloaded: their function pointers live in the registry.

use std::{
    ffi::{c_char, CStr},
    path::{Path, PathBuf},
    sync::Mutex,
};

use anyhow::{anyhow, bail, Context};

use crate::Registry;

/// The ABI fingerprint of this build of the core crate.
pub const FINGERPRINT: &str = concat!("w2s-core ", env!("CARGO_PKG_VERSION"), " / ", env!("W2S_RUSTC_VERSION"));

#[doc(hidden)]
pub const FINGERPRINT_C: &str = concat!("w2s-core ", env!("CARGO_PKG_VERSION"), " / ", env!("W2S_RUSTC_VERSION"), "\0");

/// The environment variable with extra plugin paths (files, or folders of libraries), `:`-separated.
pub const PLUGIN_PATH_VAR: &str = "W2S_PLUGIN_PATH";

/// What the host hands to a plugin's register entry point, and what comes back.
#[doc(hidden)]
pub struct HostCall {
    pub origin: String,
    pub dispatch: tracing::Dispatch,
    pub result: Option<Registry>,
    pub error: Option<String>,
}

/// Writes the plugin entry points. Put `w2s_core::export_plugin!();` once in a plugin's `lib.rs`.
#[macro_export]
macro_rules! export_plugin {
    () => {
        /// The ABI fingerprint this plugin was built with.
        #[no_mangle]
        pub extern "C" fn w2s_plugin_fingerprint() -> *const ::std::ffi::c_char {
            $crate::plugin::FINGERPRINT_C.as_ptr() as *const ::std::ffi::c_char
        }

        /// Registers this plugin's components (called by the w2s host after the fingerprint check).
        ///
        /// # Safety
        /// `call` must point to a live `HostCall` of the same w2s-core build.
        #[no_mangle]
        pub unsafe extern "C" fn w2s_plugin_register(call: *mut $crate::plugin::HostCall) {
            $crate::plugin::register_into(call)
        }
    };
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// The body of `w2s_plugin_register`, run inside the plugin.
///
/// # Safety
/// `call` must point to a live [`HostCall`].
#[doc(hidden)]
pub unsafe fn register_into(call: *mut HostCall) {
    let call = &mut *call;
    let origin = call.origin.clone();
    let dispatch = call.dispatch.clone();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _ = tracing::dispatcher::set_global_default(dispatch);
        tracing::callsite::rebuild_interest_cache();
        let mut registry = Registry::empty();
        registry.add_inventory(&|_module| origin.clone()).map(|_| registry)
    }));
    match outcome {
        Ok(Ok(registry)) => call.result = Some(registry),
        Ok(Err(e)) => call.error = Some(format!("{e:#}")),
        Err(payload) => call.error = Some(format!("panicked during registration: {}", panic_message(payload))),
    }
}

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
