"""What auto-configuration knows of a dataset before tokenising it: its token lengths (from the
histogram the upload computed) and the rows the engine will make of them.

Lengths count what TokenStats counts (jobs/datasets/stats.py): the tokens of each example as
formatted for training, the end-of-text token included where the format ends with one (prompt/
completion, chat) and not for plain text, whose end-of-text token is added when it is packed.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

from jobs.engine.constants import holdout_count
from jobs.models import Dataset


@dataclass(frozen=True)
class Lengths:
    """Token lengths of a set of examples: (length, count) pairs, from the dataset's histogram."""

    pairs: tuple[tuple[float, float, float, float], ...]  # (middle, count, start, end) per bin
    total_tokens: float
    longest: float  # in tokens; the mean length when there is no histogram

    @classmethod
    def of(cls, dataset: Dataset, share: float = 1.0) -> "Lengths":
        stats = dataset.stats or {}
        bins = [b for b in stats.get("histogram") or [] if b.get("count")]
        if bins:
            pairs = tuple(
                ((b["start"] + b["end"]) / 2, b["count"] * share, b["start"], b["end"])
                for b in bins
            )
        else:  # no histogram: every example has the mean length
            mean = dataset.total_tokens / max(dataset.num_examples, 1)
            pairs = ((mean, dataset.num_examples * share, mean, mean),)
        # The dataset page's count (TokenStats' max_tokens), not the end of the last bin.
        longest = stats.get("max_tokens") or max(p[3] for p in pairs)
        return cls(pairs=pairs, total_tokens=dataset.total_tokens * share, longest=longest)

    @property
    def count(self) -> float:
        return sum(p[1] for p in self.pairs)

    def share_within(self, limit: float) -> float:
        """Share of examples of at most `limit` tokens (uniform within a histogram bin)."""
        inside = 0.0
        for _, count, start, end in self.pairs:
            width = end - start + 1
            inside += (
                count * min(1.0, max(0.0, (limit - start + 1) / width))
                if width > 0
                else count * (start <= limit)
            )
        return inside / self.count if self.count else 1.0

    def tokens_cut_to(self, limit: float) -> float:
        """Tokens left once every example is cut to `limit`."""
        excess = sum(count * max(0.0, mid - limit) for mid, count, _, _ in self.pairs)
        return max(0.0, self.total_tokens - excess)

    def expected_longest_of(self, batch: int, limit: float) -> float:
        """Expected length of the longest of `batch` random examples, cut to `limit`: a batch
        is padded to its longest row, so this is the width the model computes on."""
        total, below, expected = self.count, 0.0, 0.0
        for mid, count, _, _ in sorted(self.pairs):
            before = (below / total) ** batch
            below += count
            expected += ((below / total) ** batch - before) * min(mid, limit)
        return expected


@dataclass
class Split:
    """Rows the engine makes from one split at a given max_seq_length."""

    rows: int
    tokens: float  # real tokens per pass
    width: Callable[[int], float]  # batch size -> padded width of a batch

    @classmethod
    def make(cls, lengths: Lengths, *, kind: str, seq: int) -> "Split":
        if kind == Dataset.Kind.TEXT or not kind:
            stream = lengths.total_tokens + lengths.count  # an EOS after each text
            # Blocks of seq tokens; a last block of one token has nothing to predict
            # (data.packed_rows).
            rows = int(stream // seq) + (stream % seq > 1)
            return cls(rows=rows, tokens=stream, width=lambda batch: min(seq, stream))
        return cls(
            rows=round(lengths.count),
            tokens=lengths.tokens_cut_to(seq),
            width=lambda batch: lengths.expected_longest_of(batch, seq),
        )

    def hold_out_blocks(self) -> tuple["Split", "Split | None"]:
        """(train, held-out or None): the engine's split of packed blocks (data.split_rows)."""
        held = holdout_count(self.rows)
        if not held:
            return self, None
        share = held / self.rows
        train = Split(rows=self.rows - held, tokens=self.tokens * (1 - share), width=self.width)
        return train, Split(rows=held, tokens=self.tokens * share, width=self.width)

    def compute_tokens(self, batch: int) -> float:
        """Tokens the model runs on per pass, padding included."""
        return math.ceil(self.rows / batch) * batch * self.width(batch) if self.rows else 0
