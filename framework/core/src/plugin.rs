//! The plugin side of the plugin ABI: tasks, labelers, objectives, backbones and presets loaded at
//! run time from a shared library (`cdylib`), into the same [`Registry`] as the built-in ones. The
//! host side (loading, the fingerprint check, merging) is the runtime's `w2s_runtime::plugin_host`.
//!
//! A plugin crate depends on `w2s-core` only, registers its components with [`register!`] /
//! [`register_preset!`] like built-in code, and writes [`export_plugin!`] once. That macro exports
//! two `extern "C"` entry points:
//! - `w2s_plugin_fingerprint`: the ABI fingerprint ([`FINGERPRINT`]: the w2s-core version, the
//!   versions of the crates whose types cross the boundary as the build's lock file pins them,
//!   and the rustc version). Rust has no stable ABI, so the host refuses a plugin whose
//!   fingerprint differs from its own.
//! - `w2s_plugin_register`: walks the plugin's *own* inventory (a cdylib has its own copy of the
//!   core crate, invisible to the host's `inventory::iter`) into a fresh registry that the host
//!   then merges, all or nothing; panics are caught inside the plugin; the host's tracing
//!   dispatcher is installed in the plugin so its logs reach the host's subscriber, and the host's
//!   progress-bar drawer so its bars are drawn.
//!
//! Libraries are never unloaded: their function pointers live in the registry.

use crate::Registry;

/// The ABI fingerprint of this build of the core crate.
pub const FINGERPRINT: &str = env!("W2S_ABI_FINGERPRINT");

#[doc(hidden)]
pub const FINGERPRINT_C: &str = concat!(env!("W2S_ABI_FINGERPRINT"), "\0");

/// What the host hands to a plugin's register entry point, and what comes back.
#[doc(hidden)]
pub struct HostCall {
    pub origin: String,
    pub dispatch: tracing::Dispatch,
    /// The host's progress-bar drawer, installed in the plugin's copy of the core.
    pub drawer: Option<crate::progress::Drawer>,
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
    if let Some(drawer) = call.drawer {
        crate::progress::install(drawer);
    }
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

#[cfg(test)]
mod tests {
    use super::FINGERPRINT;

    #[test]
    fn the_fingerprint_names_the_pinned_versions_of_every_crate_that_crosses_the_boundary() {
        assert!(FINGERPRINT.starts_with(concat!("w2s-core ", env!("CARGO_PKG_VERSION"), " / ")), "{FINGERPRINT}");
        for krate in ["anyhow", "erased-serde", "inventory", "serde", "serde_json", "tch", "torch-sys", "tracing"] {
            let named = FINGERPRINT.split([',', '/']).map(str::trim).find(|p| p.starts_with(&format!("{krate} ")));
            let version = named.unwrap_or_else(|| panic!("{krate} missing from {FINGERPRINT}"));
            assert!(!version.ends_with("unpinned"), "{FINGERPRINT}");
        }
        assert!(FINGERPRINT.contains("tch 0.24.0") && FINGERPRINT.contains("rustc "), "{FINGERPRINT}");
    }
}
