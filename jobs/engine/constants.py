"""Facts about training that several modules need: the engine, auto-configuration, estimates,
the catalog and the job records all import them from here, so each is stated once.

Imports only the standard library (no torch, no Django): the engine and the settings module
read it too.
"""

import re
from collections.abc import Mapping

# The GPT-2 tokenizer's vocabulary (50,000 merges + 256 bytes + <|endoftext|>) and context.
GPT2_VOCAB_SIZE = 50257
# On a CPU the engine makes the logits of this many tokens at a time (jobs/engine/fused_loss.py)
FUSED_LOSS_CHUNK_TOKENS = 256
GPT2_CONTEXT_LENGTH = 1024

# Built-in models give their embedding a row count that is a multiple of this (50257 -> 50304):
# matrix shapes that divide evenly into the GPU's tiles run markedly faster. The tokenizer keeps
# its 50257 tokens; the extra rows are never a target, and generation never picks them.
PADDED_VOCAB_MULTIPLE = 64

# A job's max_seq_length when nothing else decides it (the engine's default too).
DEFAULT_MAX_SEQ_LENGTH = 128

# The automatic validation split, when no validation dataset is given: this share of the
# examples (of the packed blocks, for plain text), at most VALIDATION_MAX_ROWS of them, and none
# when there are fewer than VALIDATION_MIN_ROWS.
VALIDATION_FRACTION = 0.1
VALIDATION_MAX_ROWS = 1000
VALIDATION_MIN_ROWS = 4

# LoRA: the GPT-2 modules that get adapters (attention in and out, both MLP layers), and the
# hyperparameters that exist only for LoRA jobs.
LORA_TARGET_MODULES = ("c_attn", "c_proj", "c_fc")
LORA_HYPERPARAMETERS = ("lora_r", "lora_alpha", "lora_dropout")
DEFAULT_LORA_R = 8  # the rank when none is given (the engine's default)

# Memory of a weight in training: every weight is kept in fp32, and one that trains also has
# an fp32 gradient and AdamW's two fp32 moments.
BYTES_PER_WEIGHT = 4
BYTES_PER_TRAINABLE_WEIGHT = 12

# Price per hour of a worker, by kind; WORKER_PRICES_PER_HOUR overrides them. A kind that is
# not listed (h100, a100…) costs what its family costs: "cpu", else "cuda".
DEFAULT_WORKER_PRICES_PER_HOUR = {"cpu": 0.10, "cuda": 2.50}


def holdout_count(
    n: int, *, fraction: float = VALIDATION_FRACTION, max_count: int = VALIDATION_MAX_ROWS
) -> int:
    """How many of n examples (or packed blocks) a validation split holds: none below
    VALIDATION_MIN_ROWS, else `fraction` of them, at least one and at most `max_count`."""
    if n < VALIDATION_MIN_ROWS or fraction <= 0:
        return 0
    return max(1, min(int(n * fraction), max_count))


def price_per_hour(kind: str, prices: Mapping[str, float]) -> float:
    """The hourly price of a worker of `kind` from a {kind: price} table."""
    if kind in prices:
        return prices[kind]
    return prices.get("cpu" if kind == "cpu" else "cuda", 0.0)


def worker_cost(seconds: float, kind: str, prices: Mapping[str, float]) -> float:
    """What `seconds` on a worker of `kind` cost: the one cost function for estimates and for
    the figures recorded when a job ends."""
    return round(seconds / 3600 * price_per_hour(kind, prices), 6)


def padded_vocab_size(size: int, multiple: int = PADDED_VOCAB_MULTIPLE) -> int:
    """`size` rounded up to a multiple of `multiple`."""
    return -(-size // multiple) * multiple


def padding_token_ids(model_vocab_size: int, tokenizer_size: int) -> list[int]:
    """Ids a padded vocabulary has beyond the tokenizer's: generation must never produce them."""
    return list(range(tokenizer_size, model_vocab_size))


def flops_per_token(
    *,
    parameters: int,
    n_layer: int,
    n_embd: int,
    seq: int,
    position_parameters: int = 0,
    lora: bool = False,
) -> int:
    """Training FLOPs per token, nanoGPT's estimate: 6 per weight (forward 2, backward 4; LoRA
    freezes the weights, so no weight gradients: 4) plus attention, 12 · layers · width · seq.
    Position embeddings are a lookup, not a multiply: pass their count to leave them out."""
    n = max(parameters - position_parameters, 1)
    return (4 if lora else 6) * n + 12 * n_layer * n_embd * seq


# Dense bf16 tensor-core peaks in FLOP/s (vendor datasheets, dense bf16: the sparse figures are
# twice these). A device matches an entry when its name holds every word of the entry; the
# first match wins, so the PCIe H100 comes before the plain "h100" (SXM, "H100 80GB HBM3").
PEAK_BF16_FLOPS = (
    (("h100", "pcie"), 756e12),
    (("h100",), 989e12),
    (("h200",), 989e12),
    (("a100",), 312e12),
    (("l40s",), 362e12),
    (("l4",), 121e12),
    (("a10g",), 125e12),
    (("rtx", "4090"), 165e12),
)


def peak_bf16_flops(device_name: str | None) -> float | None:
    """The dense bf16 peak of a device by its CUDA name ("NVIDIA H100 80GB HBM3"), or None."""
    words = set(re.split(r"[^a-z0-9]+", (device_name or "").lower()))
    for needed, peak in PEAK_BF16_FLOPS:
        if words.issuperset(needed):
            return peak
    return None
