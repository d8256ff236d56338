#!/usr/bin/env python3
# Make plugins/builtin/tests/fixtures/mpnet-cosines.json: sentence-transformers' embeddings of a
# few sentences by the fetched all-mpnet-base-v2 (the files w2s reads), which
# plugins/builtin/tests/mpnet.rs checks w2s's `mpnet` backbone against (without Python).
#
# Run by hand, never in CI, after `bash scripts/fetch.sh mpnet`:
#     python3 -m venv /tmp/hfvenv
#     /tmp/hfvenv/bin/pip install torch==2.11.0 transformers==5.24.0 sentence-transformers==6.3.0
#     /tmp/hfvenv/bin/python scripts/make-mpnet-reference.py "${W2S_CACHE:-.w2s-cache}/assets/mpnet"
# Made with: torch 2.11.0 (run on the CPU), transformers 5.24.0, sentence-transformers 6.3.0,
# tokenizers 0.23.3, Python 3.11.
#
# The folder is loaded as a SentenceTransformer (its modules.json: the MPNet transformer, mean
# pooling, normalisation; max_seq_length 384). The JSON holds the texts, the tokenizer's ids of
# each, the cosine similarity of each pair of texts (the dot product of the normalised
# embeddings), and the first 16 entries of each normalised embedding.
import json
import pathlib
import sys

import sentence_transformers
import torch
import transformers
from sentence_transformers import SentenceTransformer

OUT = pathlib.Path(__file__).resolve().parent.parent / "plugins" / "builtin" / "tests" / "fixtures" / "mpnet-cosines.json"

TEXTS = [
    "A man is playing a guitar.",
    "Someone plays an instrument.",
    "The stock market fell sharply today.",
    "The new movie is awesome.",
    "The new film is so great!",
    "The cat sits outside.",
    "The dog plays in the garden.",
    "It's 2024, and they'll say we've got 12345 reasons. Don't they?",
]
# Index pairs of TEXTS: related, unrelated, paraphrases, loosely related, and the long text
# against a short one.
PAIRS = [[0, 1], [0, 2], [3, 4], [5, 6], [7, 2]]


@torch.no_grad()
def main():
    folder = sys.argv[1]
    model = SentenceTransformer(folder, device="cpu")
    model.eval()
    assert model.max_seq_length == 384, model.max_seq_length
    emb = model.encode(TEXTS, convert_to_tensor=True, normalize_embeddings=False)
    # modules.json's Normalize has normalised them already; check that.
    assert torch.allclose(emb.norm(dim=1), torch.ones(len(TEXTS)), atol=1e-5), emb.norm(dim=1)
    cosines = [float(emb[a] @ emb[b]) for a, b in PAIRS]
    ids = [model.tokenizer(t)["input_ids"] for t in TEXTS]
    out = {
        "made_with": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "sentence_transformers": sentence_transformers.__version__,
        },
        "texts": TEXTS,
        "ids": ids,
        "pairs": PAIRS,
        "cosines": cosines,
        "embedding_head": [[round(float(x), 7) for x in e[:16]] for e in emb],
    }
    # One line a key: small diffs when the values change.
    OUT.write_text("{\n" + ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in out.items()) + "\n}\n")
    for (a, b), c in zip(PAIRS, cosines):
        print(f"{c:.6f}  {TEXTS[a]!r} ~ {TEXTS[b]!r}")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
