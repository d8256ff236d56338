//! `prompt`: a few-shot prompting baseline in the objective slot. Nothing is trained: the strong
//! backbone (a pretrained language model: `smollm2`, `gpt2`, `hf-decoder`) is prompted with `k`
//! examples of half B labelled by the supervisor (the student's accuracy) or by ground truth (the
//! ceiling), and classes are scored by the log-probability of their label words. Parameters and
//! prompt layout: [`w2s_core::prompting::PromptSpec`]; `k = 0` is zero-shot.

use tch::Tensor;
use w2s_core::{prompting::PromptSpec, Objective, StepInfo};

pub struct Prompt(pub PromptSpec);

impl Objective for Prompt {
    fn loss(&mut self, _logits: &Tensor, _targets: &Tensor, _at: StepInfo) -> anyhow::Result<Tensor> {
        anyhow::bail!("`prompt` is a prompting baseline: it prompts the strong model and trains nothing")
    }
    fn prompting(&self) -> Option<PromptSpec> {
        Some(self.0.clone())
    }
}

w2s_core::register!(Objective {
    name: "prompt",
    description: "few-shot prompting baseline instead of training: k shots with weak labels (student) vs gold labels (ceiling), label-word log-probs",
    params: PromptSpec,
    build: |p| Ok::<_, anyhow::Error>(Prompt(p)),
});
