//! Any decoder in a GGUF file, by its `general.architecture`: `llama` and `qwen2` as
//! [`Llama`](crate::arch::llama::Llama) (`load::llama_gguf`), `gemma3` as
//! [`Gemma3`](crate::arch::gemma3::Gemma3) (`load::gemma3_gguf`). Another architecture is an
//! error naming it and the supported ones.

use anyhow::bail;
use tch::nn;

use crate::{
    arch::{
        gemma3::{Gemma3, Gemma3Config},
        llama::{Llama, LlamaConfig},
    },
    format::gguf::Gguf,
    trunk::Trunk,
};

/// The GGUF architectures w2s reads.
pub const ARCHITECTURES: [&str; 3] = ["llama", "qwen2", "gemma3"];

fn unsupported(g: &Gguf, arch: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{}: general.architecture is {arch:?}, which w2s does not read (supported: {})",
        g.path.display(),
        ARCHITECTURES.join(", ")
    )
}

/// The number of blocks and the width of the decoder in `g` (from its header).
pub fn shape(g: &Gguf) -> anyhow::Result<(usize, i64)> {
    match g.get_str("general.architecture")? {
        "llama" | "qwen2" => LlamaConfig::from_gguf(g).map(|c| (c.num_hidden_layers as usize, c.hidden_size)),
        "gemma3" => Gemma3Config::from_gguf(g).map(|c| (c.num_hidden_layers as usize, c.hidden_size)),
        other => Err(unsupported(g, other)),
    }
}

/// The first `layers` blocks (all when `None`) of the decoder in `g`, in the root of `vs`.
pub fn trunk(vs: &nn::VarStore, g: &Gguf, layers: Option<usize>) -> anyhow::Result<Box<dyn Trunk>> {
    Ok(match g.get_str("general.architecture")? {
        "llama" | "qwen2" => Box::new(Llama::from_gguf(vs, g, layers)?),
        "gemma3" => Box::new(Gemma3::from_gguf(vs, g, layers)?),
        other => bail!(unsupported(g, other)),
    })
}

/// The parameters of the first `layers` blocks (all when `None`) of the decoder in `g`, with its
/// embeddings, final norm and output layer: the elements of its tensors, from the header.
pub fn parameters(g: &Gguf, layers: Option<usize>) -> anyhow::Result<u64> {
    let (total, _) = shape(g)?;
    let keep = super::depth(layers, total as i64, &g.path)? as usize;
    Ok(g.tensors
        .iter()
        .filter(|t| match t.name.strip_prefix("blk.").and_then(|r| r.split_once('.')) {
            Some((n, _)) => n.parse::<usize>().is_ok_and(|n| n < keep),
            None => true,
        })
        .map(|t| t.dims.iter().product::<u64>())
        .sum())
}
