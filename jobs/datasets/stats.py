"""Token statistics of a dataset, counted with the GPT-2 tokenizer as the model will see it.

An example counts the tokens of its text as formatted for training (jobs/datasets/segments.py):
prompt/completion and chat examples end with the end-of-text token, and it is counted; plain
text gets its end-of-text token only when it is packed, so it is not. Auto-configuration reads
these figures (jobs/planning/lengths.py), so the dataset page and the wizard quote one count.

Texts are tokenized in batches by the fast (Rust) tokenizer. Only one small integer per example
is kept (its length, and an 8-byte hash for duplicates), so memory stays small for millions of
examples. A batch holds at most BATCH_CHARS characters and a longer text is counted in pieces
(count_tokens): the tokenizer keeps about 100 bytes per token while it works, so one 15 MB text
tokenized whole took 2 GB.
"""

import hashlib
import json
import math
import re
from array import array

import numpy as np

from jobs.engine.tokenizer import gpt2_tokenizer

BATCH_SIZE = 512
BATCH_CHARS = 1_000_000
PIECE_CHARS = 50_000
HISTOGRAM_BINS = 20
# GPT-2's pre-tokenizer never puts a non-space character and the whitespace after it in one
# token, so cutting there gives exactly the count of the whole text.
TOKEN_BOUNDARY = re.compile(r"(?<=\S)(?=\s)")


def count_tokens(text):
    """The number of GPT-2 tokens in `text`, counted piece by piece to keep memory small."""
    pieces, start = [], 0
    while len(text) - start > PIECE_CHARS:
        cut = TOKEN_BOUNDARY.search(text, start + PIECE_CHARS, start + 2 * PIECE_CHARS)
        # Without whitespace to cut at (rare: a huge unbroken string) the count is approximate.
        end = cut.start() if cut else start + PIECE_CHARS
        pieces.append(text[start:end])
        start = end
    pieces.append(text[start:])
    total = 0
    for i in range(0, len(pieces), BATCH_CHARS // PIECE_CHARS):
        total += sum(_lengths(pieces[i : i + BATCH_CHARS // PIECE_CHARS]))
    return total


def _lengths(texts):
    encodings = gpt2_tokenizer().backend_tokenizer.encode_batch_fast(
        texts, add_special_tokens=False
    )
    return [len(encoding) for encoding in encodings]


class TokenStats:
    def __init__(self, *, context_length):
        self.context_length = context_length
        self._lengths = array("I")
        self._hashes = array("Q")
        self._batch = []
        self._batch_chars = 0
        self.rejected = []  # (line, message) for texts the tokenizer refused

    def add(self, text, example, line=None):
        digest = hashlib.blake2b(json.dumps(example, sort_keys=True).encode(), digest_size=8)
        if len(text) > PIECE_CHARS:
            self._count_one(line, text, digest)
            return
        self._batch.append((text, line, int.from_bytes(digest.digest(), "little")))
        self._batch_chars += len(text)
        if len(self._batch) >= BATCH_SIZE or self._batch_chars >= BATCH_CHARS:
            self._flush()

    def _count_one(self, line, text, digest):
        try:
            length = count_tokens(text)
        except Exception as exc:  # the tokenizer's own errors have no common class
            self.rejected.append((line, _rejection(exc)))
            return
        self._hashes.append(int.from_bytes(digest.digest(), "little"))
        self._lengths.append(length)

    def _flush(self):
        if not self._batch:
            return
        try:
            self._lengths.extend(_lengths([text for text, _, _ in self._batch]))
            self._hashes.extend(digest for _, _, digest in self._batch)
        except Exception:
            # One text the tokenizer refuses fails the batch: count them one by one.
            self._flush_one_by_one()
        self._batch, self._batch_chars = [], 0

    def _flush_one_by_one(self):
        for text, line, digest in self._batch:
            try:
                self._lengths.extend(_lengths([text]))
            except Exception as exc:
                self.rejected.append((line, _rejection(exc)))
                continue
            self._hashes.append(digest)

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


def _rejection(exc):
    return f"The tokenizer could not read this example ({type(exc).__name__})."


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
