//! Progress bars (on stderr, with ETA), hidden when the environment asks for quiet.

use indicatif::{ProgressBar, ProgressStyle};

use crate::Env;

/// A bar of `len` steps labelled `msg`.
pub fn bar(env: &Env, len: u64, msg: impl Into<String>) -> ProgressBar {
    if !env.show_progress {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{msg:>28} [{bar:30.cyan/blue}] {pos}/{len} {per_sec} ETA {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message(msg.into());
    pb
}
