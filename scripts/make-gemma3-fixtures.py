#!/usr/bin/env python3
"""Reference fixtures for w2s's Gemma 3 (plugins/models/src/arch/gemma3.rs), made by hand, never in CI.

1. `tiny`: a tiny random Gemma 3 (HF transformers' Gemma3ForCausalLM, eager attention, float32:
   6 layers, so that llama.cpp's fixed pattern gives 5 sliding-window layers and 1 global one;
   window 4, shorter than the rows; head_dim 16 with 4 query heads and 2 KV heads on hidden 32)
   saved as plugins/builtin/tests/fixtures/hf/gemma3/ (config.json, model.safetensors), with HF's
   outputs on fixed ids (reference.safetensors, as scripts/make-hf-fixtures.py writes them) and a
   GGUF copy written as llama.cpp's convert_hf_to_gguf.py writes Gemma 3 (model.gguf: tensor names
   from the gguf package's own HF -> GGUF map; RMSNorm weights stored as 1 + w; F32).
2. `real FILE.gguf`: HF transformers' outputs for the real Gemma 3 270M Q4_K_M file, loaded by
   `Gemma3ForCausalLM.from_pretrained(dir, gguf_file=...)` (transformers dequantises it with the
   gguf package and subtracts the 1 from the norms) and its tokenizer converted from the same file
   (`AutoTokenizer.from_pretrained(dir, gguf_file=...)`): token ids of a few texts, the top 5 next
   tokens (id, logit) of a few prompts, and the last token's final hidden state of one text;
   written to plugins/models/tests/fixtures/gemma-3-270m.reference.json.

    /tmp/hfvenv/bin/python scripts/make-gemma3-fixtures.py tiny
    /tmp/hfvenv/bin/python scripts/make-gemma3-fixtures.py real .w2s-cache/assets/gemma3/gemma-3-270m-q4_k_m.gguf
Made with torch 2.11.0, transformers 5.24.0, gguf 0.19.0, Python 3.11.
"""
import importlib.util
import json
import pathlib
import shutil
import sys

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent
TINY = ROOT / "plugins" / "builtin" / "tests" / "fixtures" / "hf" / "gemma3"
REAL = ROOT / "plugins" / "models" / "tests" / "fixtures" / "gemma-3-270m.reference.json"

# The rows, vocabulary size and padding of scripts/make-hf-fixtures.py.
_spec = importlib.util.spec_from_file_location("hf_fixtures", ROOT / "scripts" / "make-hf-fixtures.py")
hf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hf)
ROWS, VOCAB, padded = hf.ROWS, hf.VOCAB, hf.padded


def reinit(model, seed):
    """Weights drawn with a fixed seed, larger than HF's init; Gemma's norms scale by 1 + w."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            p.copy_((0.1 if "norm" in name else 0.2) * noise)


def write_gguf(model, cfg, path):
    import gguf

    n = cfg.num_hidden_layers
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.GEMMA3, n)
    out = gguf.GGUFWriter(str(path), "gemma3")
    out.add_context_length(cfg.max_position_embeddings)
    out.add_embedding_length(cfg.hidden_size)
    out.add_block_count(n)
    out.add_feed_forward_length(cfg.intermediate_size)
    out.add_head_count(cfg.num_attention_heads)
    out.add_head_count_kv(cfg.num_key_value_heads)
    out.add_key_length(cfg.head_dim)
    out.add_value_length(cfg.head_dim)
    out.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    out.add_rope_freq_base(cfg.rope_parameters["full_attention"]["rope_theta"])
    out.add_sliding_window(cfg.sliding_window)
    out.add_tokenizer_model("llama")
    out.add_token_list([f"<t{i}>" for i in range(cfg.vocab_size)])
    out.add_token_scores([0.0] * cfg.vocab_size)
    out.add_token_types([1] * cfg.vocab_size)
    for key, t in sorted(model.state_dict().items()):
        if key == "lm_head.weight":
            continue  # tied to the embeddings, as llama.cpp leaves it out
        gname = names.get_name(key.removesuffix(".weight"))
        assert gname is not None, key
        t = t.float().numpy()
        if key.endswith("norm.weight"):
            t = t + 1  # llama.cpp's Gemma conversion stores the norm's scale 1 + w
        out.add_tensor(gname + ".weight", np.ascontiguousarray(t))
    out.write_header_to_file()
    out.write_kv_data_to_file()
    out.write_tensors_to_file()
    out.close()


@torch.no_grad()
def tiny():
    from safetensors.torch import save_file
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    cfg = Gemma3TextConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        intermediate_size=32,
        num_hidden_layers=6,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        query_pre_attn_scalar=16,
        max_position_embeddings=64,
        sliding_window=4,
        rms_norm_eps=1e-6,
        tie_word_embeddings=True,
        attn_implementation="eager",
    )
    model = Gemma3ForCausalLM(cfg)
    reinit(model, 7)
    model.eval()
    assert cfg.layer_types == ["sliding_attention"] * 5 + ["full_attention"], cfg.layer_types
    if TINY.exists():
        shutil.rmtree(TINY)
    model.save_pretrained(TINY, safe_serialization=True)
    (TINY / "generation_config.json").unlink(missing_ok=True)
    write_gguf(model, cfg, TINY / "model.gguf")
    ids, mask = padded(ROWS)
    out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    base = model.model
    t = {
        "ids": ids,
        "mask": mask,
        "hidden": base(input_ids=ids, attention_mask=mask).last_hidden_state,
        "logits": out.logits,
        "hidden_1": base.norm(out.hidden_states[1]),
    }
    for i, r in enumerate(ROWS):
        t[f"alone.{i}"] = base(input_ids=torch.tensor([r])).last_hidden_state
    save_file({k: v.contiguous() for k, v in t.items()}, str(TINY / "reference.safetensors"))
    (TINY / "reference.json").write_text(json.dumps({"texts": [], "ids": []}) + "\n")
    print("wrote", TINY, sorted(p.name for p in TINY.iterdir()), sum(p.stat().st_size for p in TINY.iterdir()), "bytes")


PROMPTS = ["The capital of France is", "One, two, three, four,", "The opposite of hot is"]
TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "Weak-to-strong generalization: can the student beat its teacher?",
    "  Two spaces, a tab\tand émigré café naïve 日本語 🙂 12345!",
    "hello",
]


@torch.no_grad()
def real(file):
    from transformers import AutoTokenizer, Gemma3ForCausalLM

    file = pathlib.Path(file).resolve()
    tok = AutoTokenizer.from_pretrained(file.parent, gguf_file=file.name)
    model = Gemma3ForCausalLM.from_pretrained(
        file.parent, gguf_file=file.name, torch_dtype=torch.float32, attn_implementation="eager"
    )
    model.eval()
    ref = {"file": file.name, "texts": TEXTS, "ids": [tok(t)["input_ids"] for t in TEXTS], "prompts": []}
    for p in PROMPTS:
        ids = tok(p, return_tensors="pt")["input_ids"]
        logits = model(input_ids=ids).logits[0, -1]
        top = torch.topk(logits, 5)
        ref["prompts"].append(
            {
                "prompt": p,
                "ids": ids[0].tolist(),
                "top_ids": top.indices.tolist(),
                "top_logits": top.values.tolist(),
                "top_tokens": [tok.decode([i]) for i in top.indices.tolist()],
            }
        )
        print(p, "->", ref["prompts"][-1]["top_tokens"], [round(v, 3) for v in top.values.tolist()])
    ids = tok(TEXTS[1], return_tensors="pt")["input_ids"]
    h = model.model(input_ids=ids).last_hidden_state[0, -1]
    ref["last_hidden"] = {"text": TEXTS[1], "values": h.tolist()}
    REAL.parent.mkdir(parents=True, exist_ok=True)
    REAL.write_text(json.dumps(ref) + "\n")
    print("wrote", REAL)


if __name__ == "__main__":
    {"tiny": lambda: tiny(), "real": lambda: real(sys.argv[2])}[sys.argv[1]]()
