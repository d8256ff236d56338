#!/usr/bin/env python3
"""A tiny random Llama with Llama 3.x's RoPE scaling (`rope_scaling: {rope_type: llama3}`), the HF
reference outputs w2s's llama is checked against, and its GGUF copy as llama.cpp writes such a
model: plugins/builtin/tests/fixtures/hf/llama3-rope/ (made by hand, never in CI).

- HF transformers 5.24.0's LlamaForCausalLM (eager attention, float32), hidden 32, 4 heads of
  dim 8, 2 layers; RoPE theta 10000 with factor 8, low/high frequency factors 1 and 4 and an
  original context of 64, so that of the 4 frequencies one is kept, one blended and two divided
  (HF's `_compute_llama3_parameters`);
- reference.safetensors / reference.json as scripts/make-hf-fixtures.py writes them (its
  `run_decoder`);
- model.gguf as llama.cpp's convert_hf_to_gguf.py writes it: Q/K rows permuted, and the scaling
  as the `rope_freqs.weight` tensor of per-frequency divisors (its `generate_extra_tensors`).

    /tmp/hfvenv/bin/python scripts/make-rope-fixtures.py
Made with torch 2.11.0, transformers 5.24.0, gguf 0.19.0.
"""
import importlib.util
import json
import math
import pathlib
import shutil

import numpy as np
import torch

HERE = pathlib.Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("hf_fixtures", HERE / "make-hf-fixtures.py")
hf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hf)
spec = importlib.util.spec_from_file_location("gguf_fixtures", HERE / "make-gguf-fixtures.py")
gf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gf)

SCALING = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
           "original_max_position_embeddings": 64}


def rope_factors(theta, dim, s):
    """llama.cpp's convert_hf_to_gguf.py, LlamaModel.generate_extra_tensors."""
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    old = s["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old / s["low_freq_factor"], old / s["high_freq_factor"]
    out = []
    for f in freqs.tolist():
        wavelen = 2 * math.pi / f
        if wavelen < high_wavelen:
            out.append(1.0)
        elif wavelen > low_wavelen:
            out.append(s["factor"])
        else:
            smooth = (old / wavelen - s["low_freq_factor"]) / (s["high_freq_factor"] - s["low_freq_factor"])
            out.append(1 / ((1 - smooth) / s["factor"] + smooth))
    return np.array(out, dtype=np.float32)


def main():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=hf.VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=512, rms_norm_eps=1e-5,
        rope_parameters={"rope_theta": 10000.0, **SCALING}, tie_word_embeddings=False, bos_token_id=1,
        attn_implementation="eager",
    )
    model = LlamaForCausalLM(cfg)
    hf.reinit(model, 11)
    d = hf.OUT / "llama3-rope"
    if d.exists():
        shutil.rmtree(d)
    hf.save("llama3-rope", model, hf.llama_tokenizer(), hf.run_decoder)
    # The GGUF copy, with llama.cpp's rope_freqs divisors.
    gf.convert("llama3-rope")
    import gguf
    from gguf import GGUFReader

    r = GGUFReader(str(d / "model.gguf"))
    out = gguf.GGUFWriter(str(d / "model.gguf.tmp"), "llama")
    for key, field in r.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        out.add_key_value(key, field.contents(), field.types[0], field.types[-1] if len(field.types) > 1 else None)
    for t in r.tensors:
        out.add_tensor(t.name, np.array(t.data))
    out.add_tensor("rope_freqs.weight", rope_factors(10000.0, 8, SCALING))
    out.write_header_to_file()
    out.write_kv_data_to_file()
    out.write_tensors_to_file()
    out.close()
    (d / "model.gguf.tmp").replace(d / "model.gguf")
    print("rope_freqs", rope_factors(10000.0, 8, SCALING))


if __name__ == "__main__":
    main()
