//! Any decoder in a GGUF file, by its `general.architecture`: `llama`, `qwen2` and `qwen3` as
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
pub const ARCHITECTURES: [&str; 4] = ["llama", "qwen2", "qwen3", "gemma3"];

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
        "llama" | "qwen2" | "qwen3" => LlamaConfig::from_gguf(g).map(|c| (c.num_hidden_layers as usize, c.hidden_size)),
        "gemma3" => Gemma3Config::from_gguf(g).map(|c| (c.num_hidden_layers as usize, c.hidden_size)),
        other => Err(unsupported(g, other)),
    }
}

/// The first `layers` blocks (all when `None`) of the decoder in `g`, in the root of `vs`.
pub fn trunk(vs: &nn::VarStore, g: &Gguf, layers: Option<usize>) -> anyhow::Result<Box<dyn Trunk>> {
    Ok(match g.get_str("general.architecture")? {
        "llama" | "qwen2" | "qwen3" => Box::new(Llama::from_gguf(vs, g, layers)?),
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
        .filter(|t| in_first_blocks(&t.name, keep).unwrap_or(true))
        .map(|t| t.dims.iter().product::<u64>())
        .sum())
}

/// For a block's tensor (`blk.N.*`), whether it is in blocks `0..keep`; `None` for the others
/// (embeddings, final norm, output).
fn in_first_blocks(name: &str, keep: usize) -> Option<bool> {
    let (n, _) = name.strip_prefix("blk.")?.split_once('.')?;
    Some(n.parse::<usize>().is_ok_and(|n| n < keep))
}

/// What a forward pass of the first `layers` blocks (all when `None`) of the decoder in `g`
/// multiplies per token: the elements of the blocks' weight matrices (2-D tensors), and the
/// width of attention (query heads × head dim) with the number of blocks, for its
/// `2 × len × width` score and weighted-sum multiply-adds.
pub fn forward_shape(g: &Gguf, layers: Option<usize>) -> anyhow::Result<(u64, i64, usize)> {
    let (total, hidden) = shape(g)?;
    let keep = super::depth(layers, total as i64, &g.path)? as usize;
    let arch = g.get_str("general.architecture")?;
    let heads = g.get_u64(&format!("{arch}.attention.head_count"))? as i64;
    let head_dim = match g.get_u64(&format!("{arch}.attention.key_length")) {
        Ok(k) => k as i64,
        Err(_) => hidden / heads.max(1),
    };
    let matmul = g
        .tensors
        .iter()
        .filter(|t| t.dims.len() == 2 && in_first_blocks(&t.name, keep).unwrap_or(false))
        .map(|t| t.dims.iter().product::<u64>())
        .sum();
    Ok((matmul, heads * head_dim, keep))
}
