"""Facts about training that several modules need: the engine, auto-configuration, estimates,
the catalog and the job records all import them from here, so each is stated once.

Imports nothing (no torch, no Django): the engine and the settings module read it too.
"""

# The GPT-2 tokenizer's vocabulary (50,000 merges + 256 bytes + <|endoftext|>) and context.
GPT2_VOCAB_SIZE = 50257
GPT2_CONTEXT_LENGTH = 1024

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


def holdout_count(n, *, fraction=VALIDATION_FRACTION, max_count=VALIDATION_MAX_ROWS):
    """How many of n examples (or packed blocks) a validation split holds: none below
    VALIDATION_MIN_ROWS, else `fraction` of them, at least one and at most `max_count`."""
    if n < VALIDATION_MIN_ROWS or fraction <= 0:
        return 0
    return max(1, min(int(n * fraction), max_count))


def price_per_hour(kind, prices):
    """The hourly price of a worker of `kind` from a {kind: price} table."""
    if kind in prices:
        return prices[kind]
    return prices.get("cpu" if kind == "cpu" else "cuda", 0.0)


def worker_cost(seconds, kind, prices):
    """What `seconds` on a worker of `kind` cost: the one cost function for estimates and for
    the figures recorded when a job ends."""
    return round(seconds / 3600 * price_per_hour(kind, prices), 6)
