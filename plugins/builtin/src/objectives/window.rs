//! `window`: cross-entropy only on the examples whose weak label is unconfident.
//!
//! S = { i : max_c y[i,c] < 0.5 + radius }; loss = mean over i ∈ S of −Σ y[i]·log p[i]. When S is
//! empty the loss is logits.sum()·0: zero, with a graph, so that the training step still runs.
//! With k > 2 classes the same rule applies literally (max y < 0.5 + radius), so a label can be
//! below the window's top even though it is far from uniform.
//!
//! This follows `shared/design/science.md` (the *weak label* decides). EleutherAI/w2s's
//! `confidence_window_loss` instead selects on the student's own prediction and divides the summed
//! loss by the whole batch size.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};
use w2s_core::{objective::soft_cross_entropy, params::check, Objective, Params, StepInfo};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WindowParams {
    /// Half-width r: an example is trained on when its weak label's top probability is < 0.5 + r.
    pub radius: f64,
}

impl Default for WindowParams {
    fn default() -> Self {
        WindowParams { radius: 0.1 }
    }
}

impl Params for WindowParams {
    fn validate(&self) -> anyhow::Result<()> {
        check((0.0..=0.5).contains(&self.radius), "radius", "a number in [0, 0.5]")
    }
}

/// Cross-entropy restricted to unconfident weak labels.
#[derive(Debug, Clone)]
pub struct Window {
    pub params: WindowParams,
}

impl Window {
    pub fn new(params: WindowParams) -> anyhow::Result<Self> {
        Ok(Window { params })
    }
}

impl Objective for Window {
    fn loss(&mut self, logits: &Tensor, targets: &Tensor, _at: StepInfo) -> anyhow::Result<Tensor> {
        let top = targets.f_amax(-1, false)?;
        let rows = top.f_lt(0.5 + self.params.radius)?.f_nonzero()?.f_view([-1])?;
        if rows.size()[0] == 0 {
            return Ok(logits.f_sum(Kind::Float)? * 0.0);
        }
        soft_cross_entropy(&logits.f_index_select(0, &rows)?, &targets.f_index_select(0, &rows)?)
    }
}

w2s_core::register!(Objective {
    name: "window",
    description: "cross-entropy only on examples whose weak label is unconfident (max y < 0.5 + radius)",
    params: WindowParams,
    build: Window::new,
});

#[cfg(test)]
mod tests {
    use super::*;

    const AT: StepInfo = StepInfo { step: 0, total: 1 };

    #[test]
    fn loss_known_answer() {
        // radius 0.1 -> window max y < 0.6.
        // row 0: p = [0.25, 0.75], y = [0.55, 0.45] (in):  -(0.55 ln 0.25 + 0.45 ln 0.75)
        //        = 0.55·1.3862944 + 0.45·0.2876821 = 0.7624619 + 0.1294569 = 0.8919188.
        // row 1: p = [0.5, 0.5],   y = [0.9, 0.1]   (out).
        // row 2: p = [0.8, 0.2],   y = [0.45, 0.55] (in):  -(0.45 ln 0.8 + 0.55 ln 0.2)
        //        = 0.45·0.2231436 + 0.55·1.6094379 = 0.1004146 + 0.8851908 = 0.9856054.
        // loss = mean over the two rows in = 0.9387621; row 1 gets no gradient.
        let logits = Tensor::from_slice(&[0.0f32, 3f32.ln(), 0.0, 0.0, 0.8f32.ln(), 0.2f32.ln()])
            .view([3, 2])
            .set_requires_grad(true);
        let y = Tensor::from_slice(&[0.55f32, 0.45, 0.9, 0.1, 0.45, 0.55]).view([3, 2]);
        let l = Window::new(WindowParams::default()).unwrap().loss(&logits, &y, AT).unwrap();
        let v = l.double_value(&[]);
        assert!((v - 0.938_762_1).abs() < 1e-5, "{v}");
        l.backward();
        let g = Vec::<f32>::try_from(logits.grad().view([-1])).unwrap();
        assert_eq!((g[2], g[3]), (0.0, 0.0), "{g:?}");
        // Row 0's gradient is (p - y)/|S| = ([0.25, 0.75] - [0.55, 0.45])/2 = [-0.15, 0.15].
        assert!((g[0] as f64 + 0.15).abs() < 1e-5 && (g[1] as f64 - 0.15).abs() < 1e-5, "{g:?}");
    }

    #[test]
    fn no_unconfident_label_gives_zero_loss_with_a_graph() {
        // max y = 1 and 0.95, both ≥ 0.6: nothing is trained on.
        let logits = Tensor::from_slice(&[0.3f32, -0.2, 1.0, 2.0]).view([2, 2]).set_requires_grad(true);
        let y = Tensor::from_slice(&[1.0f32, 0.0, 0.05, 0.95]).view([2, 2]);
        let l = Window::new(WindowParams::default()).unwrap().loss(&logits, &y, AT).unwrap();
        assert_eq!(l.double_value(&[]), 0.0);
        assert!(l.requires_grad());
        l.backward();
        assert_eq!(Vec::<f32>::try_from(logits.grad().view([-1])).unwrap(), [0.0; 4]);
    }

    #[test]
    fn three_classes_use_the_same_rule() {
        // Row 0: y = [0.4, 0.3, 0.3] (max 0.4 < 0.6, in), logits 0 -> p uniform: -(Σ y) ln(1/3) = ln 3
        // = 1.0986123. Row 1: y = [0.7, 0.2, 0.1] (out), p = [0.25, 0.25, 0.5] (had it counted, the
        // mean would be (1.0986123 + 1.3169796)/2). loss = 1.0986123.
        let logits = Tensor::from_slice(&[0.0f32, 0.0, 0.0, 0.0, 0.0, 2f32.ln()]).view([2, 3]);
        let y = Tensor::from_slice(&[0.4f32, 0.3, 0.3, 0.7, 0.2, 0.1]).view([2, 3]);
        let v = Window::new(WindowParams::default()).unwrap().loss(&logits, &y, AT).unwrap().double_value(&[]);
        assert!((v - 1.098_612_3).abs() < 1e-5, "{v}");
    }

    #[test]
    fn invalid_params_are_named() {
        let err = WindowParams { radius: 0.7 }.validate().unwrap_err().to_string();
        assert!(err.contains("radius"), "{err}");
    }
}
