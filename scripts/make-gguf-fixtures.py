#!/usr/bin/env python3
"""GGUF copies of the tiny HF decoder fixtures (plugins/builtin/tests/fixtures/hf/{llama,qwen2}),
written the way llama.cpp's `convert_hf_to_gguf.py` writes such models, so that w2s's GGUF loader
can be checked against HF's outputs on the same weights (`tests/hf_reference.rs`).

- tensor names as llama.cpp's (`token_embd`, `blk.N.attn_q`, ..., `output_norm`, `output`);
- for `llama`, the rows of Q and K permuted for llama.cpp's adjacent-pair RoPE (its `permute`:
  reshape(n_head, 2, rows/n_head/2, cols).swapaxes(1, 2)); `qwen2` is written unpermuted (llama.cpp
  runs it with NEOX, i.e. HF's rotate-half, RoPE), with its Q/K/V biases;
- metadata `{arch}.*` (block count, lengths, heads, RoPE base, RMS eps); for `llama` a
  placeholder vocabulary of the model's size; for `qwen2` the fixture's own byte-level BPE
  (tokens, merges, `tokenizer.ggml.pre = qwen2`), so that w2s's GGUF tokenizer is checked against
  HF's ids too;
- F32, so that the comparison is exact.

One-off, by hand (`pip install gguf safetensors numpy`), never in CI: writes model.gguf next to
each fixture.
"""
import json
import os

import numpy as np
import gguf
from safetensors.numpy import load_file

HERE = os.path.join(os.path.dirname(__file__), "..", "plugins", "builtin", "tests", "fixtures", "hf")


def permute(w, n_head):
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def convert(name):
    d = os.path.join(HERE, name)
    cfg = json.load(open(os.path.join(d, "config.json")))
    arch = cfg["model_type"]
    w = load_file(os.path.join(d, "model.safetensors"))
    out = gguf.GGUFWriter(os.path.join(d, "model.gguf"), arch)
    out.add_block_count(cfg["num_hidden_layers"])
    out.add_context_length(cfg["max_position_embeddings"])
    out.add_embedding_length(cfg["hidden_size"])
    out.add_feed_forward_length(cfg["intermediate_size"])
    out.add_head_count(cfg["num_attention_heads"])
    out.add_head_count_kv(cfg["num_key_value_heads"])
    theta = cfg.get("rope_theta") or cfg.get("rope_parameters", {}).get("rope_theta", 10000.0)
    out.add_rope_freq_base(float(theta))
    out.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    if cfg.get("head_dim"):
        out.add_key_length(cfg["head_dim"])
        out.add_value_length(cfg["head_dim"])
    out.add_tokenizer_model("gpt2")
    if arch == "qwen2":
        # The fixture's own byte-level BPE with Qwen2's pre-tokenizer, as llama.cpp writes it
        # (`tokenizer.ggml.pre = qwen2`), padded to the model's vocabulary with control tokens.
        tj = json.load(open(os.path.join(d, "tokenizer.json")))
        vocab = sorted(tj["model"]["vocab"].items(), key=lambda kv: kv[1])
        tokens = [t for t, _ in vocab] + [f"<|extra_{i}|>" for i in range(cfg["vocab_size"] - len(vocab))]
        special = {a["content"] for a in tj["added_tokens"]}
        out.add_token_list(tokens)
        out.add_token_types([3 if t in special or t.startswith("<|extra_") else 1 for t in tokens])
        out.add_token_merges([" ".join(m) if isinstance(m, list) else m for m in tj["model"]["merges"]])
        out.add_tokenizer_pre("qwen2")
    else:
        out.add_token_list([f"<t{i}>" for i in range(cfg["vocab_size"])])
    heads, kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    names = {
        "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
        "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
        "mlp.down_proj": "ffn_down", "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
        "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm",
    }
    for key, t in sorted(w.items()):
        t = t.astype(np.float32)
        if key == "model.embed_tokens.weight":
            gname = "token_embd.weight"
        elif key == "model.norm.weight":
            gname = "output_norm.weight"
        elif key == "lm_head.weight":
            gname = "output.weight"
        else:
            _, _, n, rest = key.split(".", 3)
            module, kind = rest.rsplit(".", 1)
            gname = f"blk.{n}.{names[module]}.{kind}"
            if arch == "llama" and module == "self_attn.q_proj":
                t = permute(t, heads)
            if arch == "llama" and module == "self_attn.k_proj":
                t = permute(t, kv)
        out.add_tensor(gname, np.ascontiguousarray(t))
    out.write_header_to_file()
    out.write_kv_data_to_file()
    out.write_tensors_to_file()
    out.close()
    print("wrote", os.path.normpath(os.path.join(d, "model.gguf")))


if __name__ == "__main__":
    for name in ["llama", "qwen2", "qwen3"]:
        convert(name)
