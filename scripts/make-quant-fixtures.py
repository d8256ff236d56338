#!/usr/bin/env python3
"""Known answers for w2s's GGUF dequantization (plugins/models/src/format/quants.rs): random
blocks of every quantized type that w2s reads, dequantized by the reference implementation, the
`gguf` Python package (llama.cpp's gguf-py, `gguf.quants.dequantize`). One-off: run it by hand
(`pip install gguf numpy`), never in CI; it writes plugins/models/tests/fixtures/quants.json.

Scale fields (f16 `d`, `dmin`, `m`) are set to random finite halves so that the values are
finite; every other byte is uniformly random, so every bit of every packed field is exercised.
"""
import json
import os

import numpy as np
import gguf
from gguf.quants import dequantize
from importlib.metadata import version

T = gguf.GGMLQuantizationType
# (type, byte offsets of f16 scale fields within a block)
TYPES = {
    "Q4_0": [0],
    "Q5_0": [0],
    "Q5_1": [0, 2],
    "Q8_0": [0],
    "Q4_1": [0, 2],
    "Q2_K": [80, 82],
    "Q3_K": [108],
    "Q4_K": [0, 2],
    "Q5_K": [0, 2],
    "Q6_K": [208],
}
BLOCKS = 3

def random_blocks():
    """Random blocks of every type and gguf-py's values of them: quants.json."""
    rng = np.random.default_rng(20261202)
    out = {"source": f"gguf {version('gguf')} (gguf.quants.dequantize)", "types": {}}
    for name, scale_offsets in TYPES.items():
        kind = getattr(T, name)
        per_block, block_bytes = gguf.GGML_QUANT_SIZES[kind]
        raw = rng.integers(0, 256, size=(BLOCKS, block_bytes), dtype=np.uint8)
        for off in scale_offsets:
            halves = rng.uniform(-0.05, 0.05, size=BLOCKS).astype(np.float16)
            raw[:, off : off + 2] = halves.view(np.uint8).reshape(BLOCKS, 2)
        values = dequantize(raw.reshape(-1), kind).reshape(-1).astype(np.float32)
        assert np.all(np.isfinite(values)), name
        out["types"][name] = {
            "ggml_type": int(kind),
            "elements": int(BLOCKS * per_block),
            "bytes": raw.reshape(-1).tobytes().hex(),
            "values": [float(v) for v in values],
        }

    path = os.path.join(os.path.dirname(__file__), "..", "plugins", "models", "tests", "fixtures", "quants.json")
    with open(path, "w") as f:
        json.dump(out, f)
    print("wrote", os.path.normpath(path), {k: v["elements"] for k, v in out["types"].items()})


def real_file_stats(gguf_path, out_path):
    """Per-tensor statistics of a real GGUF file dequantized by gguf-py: type, element count,
    sum and sum of squares (f64) and the first 8 values, for an ignored test that reads the same
    file with w2s (the file itself is not redistributed)."""
    reader = gguf.GGUFReader(gguf_path)
    stats = {}
    for t in reader.tensors:
        v = dequantize(t.data, t.tensor_type).astype(np.float64).reshape(-1)
        stats[t.name] = {
            "type": t.tensor_type.name,
            "elements": int(v.size),
            "sum": float(v.sum()),
            "sumsq": float((v * v).sum()),
            "first": [float(x) for x in v[:8]],
        }
    with open(out_path, "w") as f:
        json.dump({"source": f"gguf {version('gguf')} (GGUFReader + dequantize)", "file": os.path.basename(gguf_path), "tensors": stats}, f)
    print("wrote", out_path, len(stats), "tensors")


if __name__ == "__main__":
    # scripts/make-quant-fixtures.py                 -> quants.json (random blocks)
    # scripts/make-quant-fixtures.py FILE.gguf OUT.json -> per-tensor statistics of a real file
    if len(os.sys.argv) == 3:
        real_file_stats(os.sys.argv[1], os.sys.argv[2])
    else:
        random_blocks()
