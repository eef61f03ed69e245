"""Token statistics of a dataset, counted with the GPT-2 tokenizer as the model will see it.

An example counts the tokens of its text as formatted for training (jobs/datasets/formatting.py):
prompt/completion and chat examples end with the end-of-text token, and it is counted; plain
text gets its end-of-text token only when it is packed, so it is not. Auto-configuration reads
these figures (jobs/planning/lengths.py), so the dataset page and the wizard quote one count.

Texts are tokenized in batches by the fast (Rust) tokenizer. Only one small integer per example
is kept (its length, and an 8-byte hash for duplicates), so memory stays small for millions of
examples.
"""

import hashlib
import json
import math
from array import array

import numpy as np

from jobs.training.tokenizer import gpt2_tokenizer

BATCH_SIZE = 512
HISTOGRAM_BINS = 20


class TokenStats:
    def __init__(self, *, context_length):
        self.context_length = context_length
        self._lengths = array("I")
        self._hashes = array("Q")
        self._batch = []

    def add(self, text, example):
        digest = hashlib.blake2b(json.dumps(example, sort_keys=True).encode(), digest_size=8)
        self._hashes.append(int.from_bytes(digest.digest(), "little"))
        self._batch.append(text)
        if len(self._batch) >= BATCH_SIZE:
            self._flush()

    def _flush(self):
        if self._batch:
            encodings = gpt2_tokenizer().backend_tokenizer.encode_batch_fast(
                self._batch, add_special_tokens=False
            )
            self._lengths.extend(len(encoding) for encoding in encodings)
            self._batch = []

    def result(self):
        """{examples, total_tokens, mean_tokens, p95_tokens, max_tokens (the longest example),
        histogram (bins that end at a round number, often past max_tokens), truncated_share,
        context_length, duplicates}"""
        self._flush()
        lengths = (
            np.frombuffer(self._lengths, dtype=np.uint32)
            if self._lengths
            else np.zeros(0, np.uint32)
        )
        count = int(lengths.size)
        return {
            "examples": count,
            "total_tokens": int(lengths.sum(dtype=np.int64)),
            "mean_tokens": round(float(lengths.mean()), 1) if count else 0,
            "p95_tokens": int(np.percentile(lengths, 95, method="inverted_cdf")) if count else 0,
            "max_tokens": int(lengths.max()) if count else 0,
            "histogram": histogram(lengths),
            "truncated_share": round(float((lengths > self.context_length).mean()), 4)
            if count
            else 0,
            "context_length": self.context_length,
            "duplicates": count - int(np.unique(np.frombuffer(self._hashes, dtype=np.uint64)).size),
        }


def histogram(lengths, bins=HISTOGRAM_BINS):
    """[{start, end, count}] over equal, round-numbered widths from 0 to the maximum length."""
    if not lengths.size:
        return []
    width = _nice_width(int(lengths.max()) + 1, bins)
    counts = np.bincount(lengths // width)
    return [
        {"start": i * width, "end": (i + 1) * width - 1, "count": int(c)}
        for i, c in enumerate(counts)
    ]


def _nice_width(span, bins):
    raw = max(1, math.ceil(span / bins))
    magnitude = 10 ** (len(str(raw)) - 1)
    for step in (1, 2, 5, 10):
        if step * magnitude >= raw:
            return step * magnitude
    return raw
