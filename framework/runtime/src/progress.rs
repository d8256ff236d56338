//! Terminal progress bars (on stderr, with ETA) behind the core's `w2s_core::progress` reporting
//! side: [`install`] once per process makes every component's bars visible.

use indicatif::{ProgressBar, ProgressStyle};
use w2s_core::progress::Draw;

struct Terminal(ProgressBar);

impl Draw for Terminal {
    fn inc(&self, n: u64) {
        self.0.inc(n);
    }
    fn set_position(&self, pos: u64) {
        self.0.set_position(pos);
    }
    fn set_message(&self, msg: String) {
        self.0.set_message(msg);
    }
    fn finish_and_clear(&self) {
        self.0.finish_and_clear();
    }
}

fn terminal_bar(len: u64, msg: String) -> Box<dyn Draw> {
    let pb = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{msg:>28} [{bar:30.cyan/blue}] {pos}/{len} {per_sec} ETA {eta}") {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(msg);
    Box::new(Terminal(pb))
}

/// Draw every component's progress bars on the terminal (idempotent).
pub fn install() {
    w2s_core::progress::install(terminal_bar);
}
