//! `logconf-openai`: `logconf` with the reference code's buggy warm-up, kept for comparison only.
//!
//! coef = aux_coef · (step_frac if step_frac ≤ warmup_frac else 1) ([`Warmup::OpenAi`], as in
//! openai/weak-to-strong's HEAD; fixed by their open PR #33): with the defaults it rises to
//! 0.1·0.5 = 0.05 over the first tenth of training and then jumps to 0.5. Everything else is
//! `logconf` (the same [`LogConf`] code and parameters), including k > 2 (one-hot argmax).

use super::logconf::{LogConf, LogConfParams};

w2s_core::register!(Objective {
    name: "logconf-openai",
    description:
        "logconf with openai/weak-to-strong's buggy warm-up (rises to warmup_frac*aux_coef, then jumps to aux_coef)",
    params: LogConfParams,
    build: LogConf::openai,
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objectives::logconf::tests::{at, example};
    use crate::objectives::logconf::Warmup;
    use w2s_core::Objective;

    #[test]
    fn warmup_schedule_known_answers() {
        // α = 0.5, warmup_frac 0.1: coef = 0.5·step_frac up to step_frac 0.1, then 0.5.
        let l = LogConf::openai(LogConfParams::default()).unwrap();
        assert_eq!(l.warmup, Warmup::OpenAi);
        assert_eq!(l.coef(at(0.0)), 0.0);
        assert!((l.coef(at(0.05)) - 0.025).abs() < 1e-12, "0.05·α, not the linear α/2");
        assert!((l.coef(at(0.1)) - 0.05).abs() < 1e-12, "the top of the ramp is warmup_frac·α");
        assert!((l.coef(at(0.101)) - 0.5).abs() < 1e-12, "then it jumps to α");
        assert!((l.coef(at(0.5)) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn loss_known_answer() {
        // logconf's example at step_frac 0.05: p0 = [0.8, 0.3], y = [[0.6, 0.4], [0.4, 0.6]], t = 0.55,
        // ĥ = [[1,0],[0,1]]. coef = 0.025: target row 0 = 0.975·[0.6, 0.4] + 0.025·[1, 0] = [0.61, 0.39],
        // row 1 = [0.39, 0.61].
        // row 0: 0.61·0.2231436 + 0.39·1.6094379 = 0.7637984; row 1: 0.39·1.2039728 + 0.61·0.3566749
        // = 0.6871211. loss = 0.7254598 (linear logconf, coef 0.25, would give target [0.7, 0.3] etc.).
        let (logits, y) = example();
        let mut l = LogConf::openai(LogConfParams::default()).unwrap();
        let got = l.loss(&logits, &y, at(0.05)).unwrap().double_value(&[]);
        assert!((got - 0.725_459_8).abs() < 1e-5, "{got}");
    }
}
