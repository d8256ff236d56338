//! `xent`: cross-entropy of the student's distribution against the weak soft labels.

use w2s_core::params::NoParams;

/// Cross-entropy against soft targets: the core's [`w2s_core::objective::SoftXent`], which the
/// protocol also uses for ground-truth training, registered under the name `xent`.
pub use w2s_core::objective::SoftXent as Xent;

w2s_core::register!(Objective {
    name: "xent",
    description: "cross-entropy of the student against the weak soft labels",
    params: NoParams,
    build: |_: NoParams| Ok::<_, anyhow::Error>(Xent),
});

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Tensor;
    use w2s_core::{Objective, StepInfo};

    #[test]
    fn known_answer() {
        // logits [0, ln 3] -> p = [0.25, 0.75]; target [0.5, 0.5]:
        // loss = -(0.5 ln 0.25 + 0.5 ln 0.75) = 0.8369882...
        let logits = Tensor::from_slice(&[0.0f32, 3f32.ln()]).view([1, 2]);
        let y = Tensor::from_slice(&[0.5f32, 0.5]).view([1, 2]);
        let l = Xent.loss(&logits, &y, StepInfo { step: 0, total: 1 }).unwrap().double_value(&[]);
        assert!((l - 0.836_988_1).abs() < 1e-5, "{l}");
    }
}
