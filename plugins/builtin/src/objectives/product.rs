//! `product`: cross-entropy against the normalised product of the student and the weak labels.
//!
//! target = p^β · y^α / Σ_classes p^β · y^α (p = softmax(logits), detached), loss = mean over the
//! batch of −Σ target · log p. α weighs the weak labels, β the student (α = β = 1 as in
//! openai/weak-to-strong's `product_loss_fn`, whose unused `warmup_frac` is left out). The target
//! is computed as softmax(β·log p + log y^α), the same quantity without underflow when p is tiny.
//! The formula is per class, so k > 2 classes work unchanged.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};
use w2s_core::{objective::soft_cross_entropy, params::check, Objective, Params, StepInfo};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProductParams {
    /// Exponent α of the weak labels.
    pub alpha: f64,
    /// Exponent β of the student's own predictions.
    pub beta: f64,
}

impl Default for ProductParams {
    fn default() -> Self {
        ProductParams { alpha: 1.0, beta: 1.0 }
    }
}

impl Params for ProductParams {
    fn validate(&self) -> anyhow::Result<()> {
        check(self.alpha.is_finite() && self.alpha >= 0.0, "alpha", "a finite number ≥ 0")?;
        check(self.beta.is_finite() && self.beta >= 0.0, "beta", "a finite number ≥ 0")
    }
}

/// Cross-entropy against the product of student and weak labels.
#[derive(Debug, Clone)]
pub struct Product {
    pub params: ProductParams,
}

impl Product {
    pub fn new(params: ProductParams) -> anyhow::Result<Self> {
        Ok(Product { params })
    }
}

impl Objective for Product {
    fn loss(&mut self, logits: &Tensor, targets: &Tensor, _at: StepInfo) -> anyhow::Result<Tensor> {
        let logp = logits.f_log_softmax(-1, Kind::Float)?.detach();
        // y^α first, then log: pow(0, 0) = 1 keeps α = 0 free of 0·log 0.
        let log_y = targets.f_pow_tensor_scalar(self.params.alpha)?.f_log()?;
        let target = (logp * self.params.beta + log_y).f_softmax(-1, Kind::Float)?;
        soft_cross_entropy(logits, &target)
    }
}

w2s_core::register!(Objective {
    name: "product",
    description: "cross-entropy against the normalised product p^beta * y^alpha of student and weak labels (detached)",
    params: ProductParams,
    build: Product::new,
});

#[cfg(test)]
mod tests {
    use super::*;

    const AT: StepInfo = StepInfo { step: 0, total: 1 };

    fn loss(params: ProductParams, logits: &Tensor, y: &Tensor) -> f64 {
        Product::new(params).unwrap().loss(logits, y, AT).unwrap().double_value(&[])
    }

    #[test]
    fn binary_known_answer_and_detached_target() {
        // logits [0, ln 3] -> p = [0.25, 0.75]; y = [0.6, 0.4]. p·y = [0.15, 0.30] -> target [1/3, 2/3].
        // loss = -(1/3 ln 0.25 + 2/3 ln 0.75) = 1.3862944/3 + 2·0.2876821/3 = 0.6538862.
        // The target is detached, so d loss / d logits = p - target = [0.25 - 1/3, 0.75 - 2/3] = [-1/12, 1/12].
        let logits = Tensor::from_slice(&[0.0f32, 3f32.ln()]).view([1, 2]).set_requires_grad(true);
        let y = Tensor::from_slice(&[0.6f32, 0.4]).view([1, 2]);
        let l = Product::new(ProductParams::default()).unwrap().loss(&logits, &y, AT).unwrap();
        let v = l.double_value(&[]);
        assert!((v - 0.653_886_2).abs() < 1e-5, "{v}");
        l.backward();
        let g = Vec::<f32>::try_from(logits.grad().view([-1])).unwrap();
        assert!((g[0] as f64 + 1.0 / 12.0).abs() < 1e-5 && (g[1] as f64 - 1.0 / 12.0).abs() < 1e-5, "{g:?}");
    }

    #[test]
    fn exponents_zero_reduce_to_xent_and_self_entropy() {
        let logits = Tensor::from_slice(&[0.0f32, 3f32.ln()]).view([1, 2]);
        let y = Tensor::from_slice(&[0.6f32, 0.4]).view([1, 2]);
        // β = 0: target = y, loss = -(0.6 ln 0.25 + 0.4 ln 0.75) = 0.8317766 + 0.1150728 = 0.9468494.
        let l = loss(ProductParams { beta: 0.0, ..Default::default() }, &logits, &y);
        assert!((l - 0.946_849_4).abs() < 1e-5, "{l}");
        // α = 0: target = p, loss = H(p) = 0.25 ln 4 + 0.75 ln(4/3) = 0.3465736 + 0.2157616 = 0.5623351.
        let l = loss(ProductParams { alpha: 0.0, ..Default::default() }, &logits, &y);
        assert!((l - 0.562_335_1).abs() < 1e-5, "{l}");
    }

    #[test]
    fn three_class_and_zero_label_known_answers() {
        // logits [0, 0, ln 2] -> p = [0.25, 0.25, 0.5]; y = [0.5, 0.25, 0.25].
        // p·y = [0.125, 0.0625, 0.125], sum 0.3125 -> target [0.4, 0.2, 0.4].
        // loss = -(0.6 ln 0.25 + 0.4 ln 0.5) = 0.6·1.3862944 + 0.4·0.6931472 = 1.1090355.
        let logits = Tensor::from_slice(&[0.0f32, 0.0, 2f32.ln()]).view([1, 3]);
        let y = Tensor::from_slice(&[0.5f32, 0.25, 0.25]).view([1, 3]);
        let l = loss(ProductParams::default(), &logits, &y);
        assert!((l - 1.109_035_5).abs() < 1e-5, "{l}");
        // A hard weak label y = [1, 0] gives target [1, 0] whatever p: loss = -ln 0.25 = 1.3862944.
        let logits = Tensor::from_slice(&[0.0f32, 3f32.ln()]).view([1, 2]);
        let y = Tensor::from_slice(&[1.0f32, 0.0]).view([1, 2]);
        let l = loss(ProductParams::default(), &logits, &y);
        assert!((l - 1.386_294_4).abs() < 1e-5, "{l}");
    }

    #[test]
    fn invalid_params_are_named() {
        let err = ProductParams { alpha: -1.0, ..Default::default() }.validate().unwrap_err().to_string();
        assert!(err.contains("alpha"), "{err}");
        let err = ProductParams { beta: f64::NAN, ..Default::default() }.validate().unwrap_err().to_string();
        assert!(err.contains("beta"), "{err}");
    }
}
