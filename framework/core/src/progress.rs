//! Progress of long work, as components report it (`progress::bar(env, len, msg)`, then `inc`,
//! `set_position`, `finish_and_clear`). The core only defines this reporting side: the runtime
//! installs the drawer (`w2s_runtime::progress`, terminal bars with an ETA) once per process, and
//! hands it to every plugin it loads. Without a drawer, or when the environment asks for quiet,
//! a bar does nothing.

use std::sync::OnceLock;

use crate::Env;

/// What draws one bar: the runtime's terminal bars implement it.
pub trait Draw: Send + Sync {
    fn inc(&self, n: u64);
    fn set_position(&self, pos: u64);
    fn set_message(&self, msg: String);
    fn finish_and_clear(&self);
}

/// Makes the drawing side of a bar of `len` steps labelled `msg`.
pub type Drawer = fn(len: u64, msg: String) -> Box<dyn Draw>;

static DRAWER: OnceLock<Drawer> = OnceLock::new();

/// Install the process's drawer (the first call wins; later calls are ignored).
pub fn install(drawer: Drawer) {
    let _ = DRAWER.set(drawer);
}

/// The installed drawer, if any (the plugin host passes it on to plugins).
pub fn drawer() -> Option<Drawer> {
    DRAWER.get().copied()
}

/// A progress bar; hidden (every call does nothing) without a drawer or with `show_progress` off.
pub struct Bar(Option<Box<dyn Draw>>);

impl Bar {
    /// A bar that draws nothing.
    pub fn hidden() -> Self {
        Bar(None)
    }
    pub fn inc(&self, n: u64) {
        if let Some(d) = &self.0 {
            d.inc(n);
        }
    }
    pub fn set_position(&self, pos: u64) {
        if let Some(d) = &self.0 {
            d.set_position(pos);
        }
    }
    pub fn set_message(&self, msg: impl Into<String>) {
        if let Some(d) = &self.0 {
            d.set_message(msg.into());
        }
    }
    pub fn finish_and_clear(&self) {
        if let Some(d) = &self.0 {
            d.finish_and_clear();
        }
    }
}

/// A bar of `len` steps labelled `msg`.
pub fn bar(env: &Env, len: u64, msg: impl Into<String>) -> Bar {
    match drawer() {
        Some(make) if env.show_progress => Bar(Some(make(len, msg.into()))),
        _ => Bar::hidden(),
    }
}
