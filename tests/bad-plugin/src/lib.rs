//! Test fixture: a plugin that misbehaves as `$W2S_BAD_PLUGIN` says when loaded:
//! `fingerprint` (reports another ABI), `panic` (a component's defaults panic while the plugin
//! registers), anything else (registers an objective named `xent`, which the built-ins have).

use serde::{Deserialize, Serialize};
use w2s_core::{objective::soft_cross_entropy, params::NoParams, Objective, Params, StepInfo};

fn mode() -> String {
    std::env::var("W2S_BAD_PLUGIN").unwrap_or_default()
}

struct Plain;
impl Objective for Plain {
    fn loss(&mut self, logits: &tch::Tensor, targets: &tch::Tensor, _at: StepInfo) -> anyhow::Result<tch::Tensor> {
        soft_cross_entropy(logits, targets)
    }
}

w2s_core::register!(Objective {
    name: "xent",
    description: "a second `xent`: must be refused",
    params: NoParams,
    build: |_: NoParams| Ok::<_, anyhow::Error>(Plain),
});

/// Parameters whose defaults panic in `panic` mode (defaults are computed at registration).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Panicky {
    pub x: f64,
}
impl Default for Panicky {
    fn default() -> Self {
        if mode() == "panic" {
            panic!("bad plugin panics on purpose");
        }
        Panicky { x: 1.0 }
    }
}
impl Params for Panicky {}

w2s_core::register!(Objective {
    name: "bad-panicky",
    description: "defaults that panic in `panic` mode",
    params: Panicky,
    build: |_: Panicky| Ok::<_, anyhow::Error>(Plain),
});

#[no_mangle]
pub extern "C" fn w2s_plugin_fingerprint() -> *const std::ffi::c_char {
    if mode() == "fingerprint" {
        c"w2s-core 0.0.1 / rustc 1.0.0".as_ptr()
    } else {
        w2s_core::plugin::FINGERPRINT_C.as_ptr() as *const std::ffi::c_char
    }
}

/// # Safety
/// `call` must point to a live `HostCall`.
#[no_mangle]
pub unsafe extern "C" fn w2s_plugin_register(call: *mut w2s_core::plugin::HostCall) {
    w2s_core::plugin::register_into(call)
}
