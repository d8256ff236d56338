#!/usr/bin/env python3
# Make the Hugging Face reference fixtures under plugins/builtin/tests/fixtures/hf/, which
# plugins/builtin/tests/hf_reference.rs checks w2s's model code against (without Python).
#
# Run by hand, never in CI:
#     python3 -m venv /tmp/hfvenv
#     /tmp/hfvenv/bin/pip install torch==2.11.0 transformers==5.24.0   # tokenizers 0.23.3, safetensors 0.8.0 come with it
#     /tmp/hfvenv/bin/python scripts/make-hf-fixtures.py [NAME...]     # all fixtures, or only those named
# Made with: torch 2.11.0 (PyPI, +cu130 build, run on the CPU), transformers 5.24.0,
# tokenizers 0.23.3, safetensors 0.8.0, Python 3.11.
#
# What it follows: transformers 5.24.0's modeling_gpt2.py (GPT2LMHeadModel), modeling_llama.py
# (LlamaForCausalLM), modeling_qwen2.py (Qwen2ForCausalLM), modeling_bert.py (BertModel) and
# modeling_mpnet.py (MPNetModel), each run with attn_implementation="eager" (the reference
# attention code) in float32 on the CPU.
#
# Each fixture folder holds what the w2s loader reads (config.json and model.safetensors as
# save_pretrained writes them, tokenizer.json), and:
# - reference.safetensors: `ids` [3, T] (right-padded with id 0) and `mask` [3, T] (1: real
#   token); `hidden` [3, T, d], HF's last hidden state of that padded batch (final norm
#   applied for decoders); for decoders `logits` [3, T, vocab] of the same batch and
#   `hidden_1` [3, T, d], the final norm applied to the residual stream after the first block
#   (what w2s's `layers = 1` gives); `alone.{i}` [1, len_i, d], row i run alone without a mask;
#   `text_features` [n, d], per text of reference.json: the last token's final hidden state
#   (decoders) or the masked mean of the last hidden state (BERT, MPNet); for MPNet, `buckets`
#   [401], HF's relative-position bucket of each relative position -200..200 (the rows of the
#   model check reach distances up to 23 only). MPNet's batch is padded with its <pad> id 1, and
#   row 2 holds a real token of id 1, which HF's positions skip as if it were padding (w2s
#   follows).
# - reference.json: the texts and HF's token ids for them (the tokenizer check).
# Models are tiny (hidden 32, 2 layers, vocabulary about 300) and random with a fixed seed, with
# weights drawn larger than HF's init (N(0, 0.2^2), norm weights 1 + N(0, 0.1^2), biases
# N(0, 0.1^2)) so that an architecture error shows in the outputs.
import json
import pathlib
import shutil
import sys

import torch
from safetensors.torch import save_file
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (
    BertConfig,
    BertModel,
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    MPNetConfig,
    MPNetModel,
    PreTrainedTokenizerFast,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen3Config,
    Qwen3ForCausalLM,
)

OUT = pathlib.Path(__file__).resolve().parent.parent / "plugins" / "builtin" / "tests" / "fixtures" / "hf"

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "A weak teacher labels the data and a strong student learns from those labels.",
    "Weak-to-strong generalization: can the student beat its teacher?",
    "It's 2024, and they'll say we've got 12345 reasons. Don't they?",
    "the cat sat on the mat; the dog sat on the log.",
    "Sentiment: this film was wonderful, moving and far too long!",
    "Hello world, hello again, goodbye world.",
] * 4

TEXTS = [
    "The quick brown fox.",
    "A strong student, a weak teacher: 42 labels!",
    "hello",
    "They'll pay 12345 in 2024.",
]

# Token ids (below every vocabulary size) of the three rows: lengths 7, 4 and 11.
ROWS = [
    [5, 17, 299, 0, 42, 7, 120],
    [250, 3, 3, 81],
    [1, 64, 128, 200, 9, 33, 33, 150, 11, 290, 6],
]
VOCAB = 320  # model vocabulary; the tokenizers have at most 300 tokens

# The size of the models (GPT-2 names its own).
MODEL_SIZE = dict(
    vocab_size=VOCAB,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=64,
    max_position_embeddings=64,
)


def padded(rows, pad=0):
    t = max(len(r) for r in rows)
    ids = torch.full((len(rows), t), pad, dtype=torch.long)
    mask = torch.zeros(len(rows), t, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = 1
    return ids, mask


def reinit(model, seed):
    """Weights drawn with a fixed seed, larger than HF's init."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            norm = any(k in name for k in ("norm", "ln_", "LayerNorm"))
            if norm and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * noise)
            elif name.endswith("bias"):
                p.copy_(0.1 * noise)
            else:
                p.copy_(0.2 * noise)


def byte_level_bpe(split_regex=None):
    """A byte-level BPE (GPT-2's scheme; with `split_regex`, Qwen2's pre-tokenizer) of 300 tokens."""
    tok = Tokenizer(models.BPE())
    if split_regex is None:
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(split_regex), behavior="isolated"),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    special = ["<|endoftext|>"]
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=special, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator(CORPUS, trainer)
    return tok


def llama_tokenizer():
    """A sentencepiece-style BPE (metaspace, prepended on the first word) with `<s>` added in front."""
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first")
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>", "<s>", "</s>"], show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    bos = tok.token_to_id("<s>")
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", bos)])
    return tok


def wordpiece_tokenizer(special, unk, post_processor):
    """A lower-casing WordPiece with the `special` tokens first (ids 0..), `unk` among them, and
    `post_processor(tok)` adding the special tokens around a text. Its vocabulary is built here,
    not trained (the WordPiece trainer breaks ties in a different order each run): the special
    tokens, the corpus's words seen at least 4 times (most frequent first), its characters and
    their `##` continuations."""
    normalizer = normalizers.BertNormalizer(lowercase=True)
    split = pre_tokenizers.BertPreTokenizer()
    counts = {}
    for line in CORPUS:
        for word, _ in split.pre_tokenize_str(normalizer.normalize_str(line)):
            counts[word] = counts.get(word, 0) + 1
    words = sorted((w for w, c in counts.items() if c >= 4 and len(w) > 1), key=lambda w: (-counts[w], w))
    chars = sorted({c for w in counts for c in w})
    tokens = special + words + chars + ["##" + c for c in chars]
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(tokens)}, unk_token=unk))
    tok.normalizer = normalizer
    tok.pre_tokenizer = split
    tok.decoder = decoders.WordPiece()
    tok.post_processor = post_processor(tok)
    assert len(tokens) <= 300, len(tokens)
    return tok


def bert_tokenizer():
    """BERT's: [CLS] ... [SEP] ([PAD] is id 0)."""

    def post(tok):
        cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
        return processors.TemplateProcessing(
            single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
        )

    return wordpiece_tokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], "[UNK]", post)


def mpnet_tokenizer():
    """all-mpnet-base-v2's scheme: <s> ... </s> by RobertaProcessing (<s> 0, <pad> 1, </s> 2),
    unknown words as [UNK]."""

    def post(tok):
        return processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")))

    return wordpiece_tokenizer(["<s>", "<pad>", "</s>", "<unk>", "[UNK]", "<mask>"], "[UNK]", post)


QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def save(name, model, tok, run):
    """Write the model, its tokenizer, and the reference outputs of `run` into fixture `name`."""
    d = OUT / name
    if d.exists():
        shutil.rmtree(d)
    model.save_pretrained(d, safe_serialization=True)
    for extra in ["generation_config.json"]:
        (d / extra).unlink(missing_ok=True)
    tok.save(str(d / "tokenizer.json"))
    hf_tok = PreTrainedTokenizerFast(tokenizer_file=str(d / "tokenizer.json"))
    text_ids = [hf_tok(t)["input_ids"] for t in TEXTS]
    assert all(max(r) < model.config.vocab_size for r in text_ids)
    tensors = run(model, text_ids)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(d / "reference.safetensors"))
    (d / "reference.json").write_text(json.dumps({"texts": TEXTS, "ids": text_ids}) + "\n")
    files = sorted(p.name for p in d.iterdir())
    size = sum(p.stat().st_size for p in d.iterdir())
    print(f"{name}: {files}, {size} bytes")


@torch.no_grad()
def run_decoder(model, text_ids):
    model.eval()
    ids, mask = padded(ROWS)
    out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    base = model.base_model
    final_norm = base.ln_f if hasattr(base, "ln_f") else base.norm
    hidden = base(input_ids=ids, attention_mask=mask).last_hidden_state
    t = {
        "ids": ids,
        "mask": mask,
        "hidden": hidden,
        "logits": out.logits,
        # hidden_states[1]: the residual stream after block 0 (before any final norm).
        "hidden_1": final_norm(out.hidden_states[1]),
    }
    for i, r in enumerate(ROWS):
        t[f"alone.{i}"] = base(input_ids=torch.tensor([r])).last_hidden_state
    t["text_features"] = torch.cat(
        [base(input_ids=torch.tensor([r])).last_hidden_state[:, -1] for r in text_ids]
    )
    return t


def run_encoder(rows, pad):
    """The reference outputs of an encoder on `rows` (wrapped in its special tokens) padded with
    `pad`, and the mean-pooled hidden states of the texts."""

    @torch.no_grad()
    def run(model, text_ids):
        model.eval()
        ids, mask = padded(rows, pad)
        hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
        t = {"ids": ids, "mask": mask, "hidden": hidden}
        for i, r in enumerate(rows):
            t[f"alone.{i}"] = model(input_ids=torch.tensor([r])).last_hidden_state
        feats = []
        for r in text_ids:
            h = model(input_ids=torch.tensor([r])).last_hidden_state
            feats.append(h.mean(1))
        t["text_features"] = torch.cat(feats)
        return t

    return run


def run_mpnet(model, text_ids):
    # <s> ... </s>, as w2s's tokenizer gives them, and a longer row (23 tokens) for the
    # logarithmic buckets of relative distances 8 and more.
    rows = [[0] + r + [2] for r in ROWS + [list(range(100, 121))]]
    t = run_encoder(rows, pad=1)(model, text_ids)
    t["buckets"] = model.encoder.relative_position_bucket(torch.arange(-200, 201))
    return t


def bert(eager):
    model = BertModel(BertConfig(**MODEL_SIZE, **eager))
    reinit(model, 5)
    # [CLS] ... [SEP], as w2s's tokenizer gives them
    save("bert", model, bert_tokenizer(), run_encoder([[2] + r + [3] for r in ROWS], pad=0))


def mpnet(eager):
    model = MPNetModel(MPNetConfig(**MODEL_SIZE, layer_norm_eps=1e-5, **eager))
    reinit(model, 6)
    save("mpnet", model, mpnet_tokenizer(), run_mpnet)


def main():
    names = sys.argv[1:]
    known = ["gpt2", "llama", "llama-attention-bias", "qwen2", "bert", "mpnet", "qwen3"]
    assert all(n in known for n in names), f"fixtures are {known}"
    torch.manual_seed(0)
    OUT.mkdir(parents=True, exist_ok=True)
    eager = {"attn_implementation": "eager"}
    # grouped-query attention: 2 query heads per KV head
    common = dict(**MODEL_SIZE, num_key_value_heads=2, **eager)

    def gpt2():
        model = GPT2LMHeadModel(
            GPT2Config(
                vocab_size=VOCAB, n_embd=32, n_layer=2, n_head=4, n_positions=64, bos_token_id=0, eos_token_id=0, **eager
            )
        )
        reinit(model, 1)
        save("gpt2", model, byte_level_bpe(), run_decoder)

    def llama():
        model = LlamaForCausalLM(
            LlamaConfig(**common, rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False, bos_token_id=1)
        )
        reinit(model, 2)
        save("llama", model, llama_tokenizer(), run_decoder)

    def llama_bias():
        # Llama with attention_bias: biases on q/k/v *and* o_proj.
        model = LlamaForCausalLM(
            LlamaConfig(
                **{**common, "num_hidden_layers": 1},
                rms_norm_eps=1e-6,
                rope_theta=500000.0,
                attention_bias=True,
                tie_word_embeddings=True,
                bos_token_id=1,
            )
        )
        reinit(model, 3)
        save("llama-attention-bias", model, llama_tokenizer(), run_decoder)

    def qwen2():
        model = Qwen2ForCausalLM(
            Qwen2Config(**common, rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=True)
        )
        reinit(model, 4)
        save("qwen2", model, byte_level_bpe(QWEN2_SPLIT), run_decoder)

    def qwen3():
        # Qwen3: RMSNorm on each head's queries and keys (QK-norm), no biases, and a head_dim
        # (16) with heads × head_dim (64) wider than the hidden size (32), as in Qwen3-0.6B.
        model = Qwen3ForCausalLM(
            Qwen3Config(**common, head_dim=16, rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=True)
        )
        reinit(model, 5)
        save("qwen3", model, byte_level_bpe(QWEN2_SPLIT), run_decoder)

    makers = [gpt2, llama, llama_bias, qwen2, lambda: bert(eager), lambda: mpnet(eager), qwen3]
    for name, make in zip(known, makers):
        if not names or name in names:
            make()


if __name__ == "__main__":
    main()
