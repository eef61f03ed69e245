"""Turn examples into rows the model trains on, held in compact arrays.

Examples arrive as segment lists, the output of jobs.datasets.reader.format_segments:
[(text, carries_loss), ...]. They are tokenised as a stream, a chunk at a time (the fast
tokenizer spreads each chunk over the machine's cores), into a TokenStore: three flat files, the
token ids (uint16 when the vocabulary fits, else int32), a loss flag per token (uint8) and one
offset per example (int64), memory-mapped back. About 3 bytes a token where Python lists took
about 100; a store is written to a temporary name and renamed, so a cache folder only ever holds
complete stores (jobs/training/run.py keeps them per dataset and tokenizer in the worker's
scratch; the sequence length only changes how the stored tokens are cut, so it needs none).

Rows are (start, length) pairs into a store. Plain text is packed (the stream cut into blocks;
each text ends with EOS), so no token is wasted on padding. Prompt/completion and chat examples
keep one example per row, padded per batch: attention never crosses from one example into
another, and the loss only covers the loss-carrying segments (the completion, the assistant
turns).

Under torch.compile every new batch shape costs a compilation (seconds on a CPU, up to minutes
for a large model on a GPU), so a compiled run gets a few fixed shapes (FixedShapes): packed
text is always max_seq_length wide, other rows are padded to a power-of-two bucket, and the last,
smaller batch of an epoch gets empty rows that carry no loss and that no real row sees. An
uncompiled run keeps each batch trimmed to its longest row: padding would only cost compute
there, and the time estimates (jobs/planning) count that trimmed width.
"""

import hashlib
import itertools
import json
import os
import random
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import torch

from jobs.engine.constants import VALIDATION_MAX_ROWS, holdout_count

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

IGNORE_INDEX = -100  # label value the loss skips
SMALLEST_BUCKET = 16  # narrower batches are padded to this width under FixedShapes
CHUNK_EXAMPLES = 2000  # examples tokenised at a time: memory stays flat however large the file
STORE_VERSION = 1  # bump when the files' layout changes: older cached stores are not read

# One example as the model sees it: (text, carries_loss) segments.
Segments: TypeAlias = Sequence[tuple[str, bool]]
# A batch as collate makes it: input_ids, labels, attention mask (or None), real tokens.
Batch: TypeAlias = tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, int]
# What tokenising reports: examples done, and the total (None when unknown).
Progress: TypeAlias = Callable[[int, int | None], None]


@dataclass
class Examples:
    """A re-readable stream of examples: `read()` yields segment lists from the start each time.
    `count` (if known) drives progress; `key` names the data for the cache ("" : no cache)."""

    read: Callable[[], Iterable[Segments]]
    count: int | None = None
    key: str = ""

    @classmethod
    def of(cls, examples: "Examples | Sequence[Segments]") -> "Examples":
        """A list (tests, benchmarks) or an Examples already."""
        if isinstance(examples, Examples):
            return examples
        return cls(read=lambda: iter(examples), count=len(examples))


# Examples as the engine takes them: a re-readable stream, or a list (tests, benchmarks).
ExamplesLike: TypeAlias = Examples | Sequence[Segments]


@dataclass
class TokenStore:
    """Tokenised examples, flat: example i is ids[offsets[i]:offsets[i + 1]]."""

    ids: np.ndarray  # uint16 or int32, memory-mapped
    loss: np.ndarray  # uint8: 1 where the token carries loss
    offsets: np.ndarray  # int64, one more than there are examples
    eos_id: int

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def num_tokens(self) -> int:
        return int(self.offsets[-1])


@dataclass
class Rows:
    """Training rows: row i is the store's tokens starts[i] : starts[i] + lengths[i]."""

    store: TokenStore
    starts: torch.Tensor  # int64 [rows]
    lengths: torch.Tensor  # int64 [rows]

    def __len__(self) -> int:
        return len(self.lengths)

    @property
    def num_tokens(self) -> int:
        return int(self.lengths.sum())

    def padded(
        self, index: torch.Tensor | None = None, width: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(input_ids, labels) of the rows at `index` (all by default), right-padded with EOS
        and IGNORE_INDEX to `width` (their longest by default) and cut to it."""
        index = torch.arange(len(self)) if index is None else index
        lengths = self.lengths[index]
        width = width or max(int(lengths.max()) if len(lengths) else 1, 1)
        input_ids = torch.full((len(index), width), self.store.eos_id, dtype=torch.long)
        labels = torch.full((len(index), width), IGNORE_INDEX, dtype=torch.long)
        for j, (start, length) in enumerate(
            zip(self.starts[index].tolist(), lengths.tolist(), strict=True)
        ):
            n = min(length, width)
            ids = torch.from_numpy(self.store.ids[start : start + n].astype(np.int64))
            keep = torch.from_numpy(self.store.loss[start : start + n].astype(bool))
            input_ids[j, :n] = ids
            labels[j, :n] = torch.where(keep, ids, IGNORE_INDEX)
        return input_ids, labels

    # A padded copy of every row: for tests and small comparisons, never for training.
    @property
    def input_ids(self) -> torch.Tensor:
        return self.padded()[0]

    @property
    def labels(self) -> torch.Tensor:
        return self.padded()[1]


# --- Tokenising -----------------------------------------------------------------------------


def tokenizer_fingerprint(tokenizer: "PreTrainedTokenizerBase") -> str:
    """A short hash of everything that decides the tokenizer's ids (vocabulary, merges,
    normalisation, special tokens)."""
    text = tokenizer.backend_tokenizer.to_str() + repr(sorted(tokenizer.get_added_vocab()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_or_tokenise(
    examples: ExamplesLike,
    tokenizer: "PreTrainedTokenizerBase",
    *,
    kind: str,
    cache_dir: str | os.PathLike[str] | None,
    on_progress: Progress | None = None,
) -> tuple[TokenStore, bool]:
    """The TokenStore of `examples` (an Examples): read from cache_dir when a complete store of
    the same data and tokenizer is there, else tokenised (streamed) into it. Without a key or
    cache_dir the store goes to a temporary folder that is unlinked once mapped (Linux keeps the
    mapped files until the run ends). Returns (store, whether it came from the cache)."""
    examples = Examples.of(examples)
    if examples.key and cache_dir:
        name = f"{examples.key}-{kind}-{tokenizer_fingerprint(tokenizer)}-v{STORE_VERSION}"
        folder = Path(cache_dir) / name
        if (folder / "meta.json").exists():
            os.utime(folder)  # last used: what a pruning of old stores would look at
            return open_store(folder), True
        write_store(examples, tokenizer, folder, kind=kind, on_progress=on_progress)
        return open_store(folder), False
    scratch = Path(tempfile.mkdtemp(prefix="tokens-", dir=cache_dir or None))
    try:
        write_store(examples, tokenizer, scratch / "store", kind=kind, on_progress=on_progress)
        return open_store(scratch / "store"), False
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def write_store(
    examples: Examples,
    tokenizer: "PreTrainedTokenizerBase",
    folder: str | os.PathLike[str],
    *,
    kind: str,
    on_progress: Progress | None = None,
) -> None:
    """Tokenise the stream a chunk at a time, appending to the store's files; written under a
    temporary name and renamed when complete. on_progress(examples done, total or None)."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    dtype = np.uint16 if len(tokenizer) <= 2**16 else np.int32
    eos = tokenizer.eos_token_id
    packed_eos = eos if kind == "text" else None  # packed texts each end with EOS
    done, tokens = 0, 0
    with (
        open(tmp / "ids.bin", "wb") as ids_file,
        open(tmp / "loss.bin", "wb") as loss_file,
        open(tmp / "lengths.bin", "wb") as lengths_file,
    ):
        stream = iter(examples.read())
        while chunk := list(itertools.islice(stream, CHUNK_EXAMPLES)):
            ids, loss, lengths = _tokenise_chunk(chunk, tokenizer, eos=packed_eos)
            ids_file.write(ids.astype(dtype).tobytes())
            loss_file.write(loss.tobytes())
            lengths_file.write(lengths.tobytes())
            done += len(chunk)
            tokens += int(lengths.sum())
            if on_progress:
                on_progress(done, examples.count)
    meta = {"dtype": np.dtype(dtype).name, "examples": done, "tokens": tokens, "eos_id": eos}
    (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    try:
        os.rename(tmp, folder)
    except OSError:
        # Another worker on this machine stored the same data a moment before: use theirs.
        shutil.rmtree(tmp, ignore_errors=True)
        if not (folder / "meta.json").exists():
            raise


def _tokenise_chunk(
    chunk: list[Segments], tokenizer: "PreTrainedTokenizerBase", *, eos: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat ids and loss flags of a chunk of examples, and each example's length. eos given
    (plain text, which is packed): each example ends with it, carrying loss."""
    texts = [text for example in chunk for text, _ in example]
    flags = [bool(carries) for example in chunk for _, carries in example]
    pieces = tokenizer(texts, add_special_tokens=False)["input_ids"] if texts else []
    piece_lengths = np.fromiter((len(p) for p in pieces), dtype=np.int64, count=len(pieces))
    ids = np.fromiter(itertools.chain.from_iterable(pieces), dtype=np.int64)
    loss = np.repeat(np.array(flags, dtype=np.uint8), piece_lengths)
    segments = np.fromiter((len(example) for example in chunk), dtype=np.int64, count=len(chunk))
    owner = np.repeat(np.arange(len(chunk)), segments)  # the example each piece belongs to
    lengths = np.bincount(owner, weights=piece_lengths, minlength=len(chunk)).astype(np.int64)
    if eos is None:
        return ids, loss, lengths
    ends = np.cumsum(lengths)
    missing = (lengths == 0) | (ids[np.maximum(ends - 1, 0)] != eos) if len(ids) else lengths == 0
    ids = np.insert(ids, ends[missing], eos)
    loss = np.insert(loss, ends[missing], 1)
    return ids, loss, lengths + missing


def open_store(folder: str | os.PathLike[str]) -> TokenStore:
    folder = Path(folder)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    lengths = np.fromfile(folder / "lengths.bin", dtype=np.int64)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return TokenStore(
        ids=_map(folder / "ids.bin", meta["dtype"]),
        loss=_map(folder / "loss.bin", "uint8"),
        offsets=offsets,
        eos_id=meta["eos_id"],
    )


def _map(path: Path, dtype: str) -> np.ndarray:
    if path.stat().st_size == 0:  # np.memmap refuses an empty file
        return np.zeros(0, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r")


# --- Rows -----------------------------------------------------------------------------------


def holdout_indices(
    n: int, *, fraction: float, seed: int, max_examples: int = VALIDATION_MAX_ROWS
) -> tuple[np.ndarray, np.ndarray]:
    """(train, held) example indices: a validation share of whole examples (never a piece of
    one), reproducibly for a seed."""
    n_eval = holdout_count(n, fraction=fraction, max_count=max_examples)
    if not n_eval:
        return np.arange(n), np.arange(0)
    order = list(range(n))
    random.Random(seed).shuffle(order)
    held = np.sort(np.array(order[:n_eval], dtype=np.int64))
    keep = np.ones(n, dtype=bool)
    keep[held] = False
    return np.flatnonzero(keep), held


def packed_rows(store: TokenStore, *, block_size: int) -> Rows:
    """Plain text: the whole stream (every example ends with EOS) cut into blocks."""
    total = store.num_tokens
    starts = torch.arange(0, total, block_size, dtype=torch.long)
    lengths = torch.clamp(total - starts, max=block_size)
    keep = lengths > 1  # a last block of one token has nothing to predict
    return Rows(store=store, starts=starts[keep], lengths=lengths[keep])


def example_rows(
    store: TokenStore, *, block_size: int, index: np.ndarray | None = None
) -> tuple[Rows, int]:
    """Prompt/completion and chat: one row per example (those at `index`, or all), cut to
    block_size, loss only where the flags say so. Returns the rows and how many examples were
    dropped because truncation left no token to learn from (a prompt longer than the context)."""
    index = np.arange(len(store)) if index is None else index
    starts = store.offsets[:-1][index]
    lengths = np.minimum(store.offsets[1:][index] - starts, block_size)
    # The model predicts token i from tokens before it, so the first token's flag never counts.
    keep = np.fromiter(
        (
            length > 1 and store.loss[start + 1 : start + length].any()
            for start, length in zip(starts.tolist(), lengths.tolist(), strict=True)
        ),
        dtype=bool,
        count=len(starts),
    )
    rows = Rows(
        store=store, starts=torch.from_numpy(starts[keep]), lengths=torch.from_numpy(lengths[keep])
    )
    return rows, int(len(starts) - keep.sum())


def split_rows(
    rows: Rows, *, fraction: float, seed: int, max_rows: int = VALIDATION_MAX_ROWS
) -> tuple[Rows, Rows | None]:
    """Hold out a validation share of packed blocks, reproducibly: (train, held or None).

    Packed text is held out by block, not by example: the number of training rows is then the
    number of blocks minus the share, whatever the lengths of the examples drawn, so the
    auto-configuration predicts it from the token count alone (jobs/planning/autoconfig.py,
    Split.hold_out_blocks). Blocks cut across texts, so a held-out block may share a text with
    a training block: the eval loss of packed text reads slightly optimistic."""
    n_held = holdout_count(len(rows), fraction=fraction, max_count=max_rows)
    if not n_held:
        return rows, None
    order = torch.randperm(len(rows), generator=torch.Generator().manual_seed(seed))
    held, kept = order[:n_held].sort().values, order[n_held:].sort().values
    return _select(rows, kept), _select(rows, held)


def _select(rows: Rows, index: torch.Tensor) -> Rows:
    return Rows(store=rows.store, starts=rows.starts[index], lengths=rows.lengths[index])


def build_rows(
    examples: ExamplesLike,
    tokenizer: "PreTrainedTokenizerBase",
    *,
    kind: str,
    block_size: int,
) -> tuple[Rows, int]:
    """Rows of a list of examples, and the number dropped (tests and benchmarks)."""
    store, _ = load_or_tokenise(examples, tokenizer, kind=kind, cache_dir=None)
    if kind == "text":
        return packed_rows(store, block_size=block_size), 0
    return example_rows(store, block_size=block_size)


def batches(
    rows: Rows, *, batch_size: int, shuffle: bool, seed: int = 0, limit: int | None = None
) -> list[torch.Tensor]:
    """Index tensors, one per batch; the order depends only on the seed (resume replays it).
    Unshuffled, `limit` keeps the first rows only."""
    if shuffle:
        order = torch.randperm(len(rows), generator=torch.Generator().manual_seed(seed))
    else:
        order = torch.arange(min(len(rows), limit or len(rows)))
    return list(torch.split(order, batch_size))


@dataclass(frozen=True)
class FixedShapes:
    """Batch shapes for a compiled run: batch_size rows, and a width from a short list."""

    batch_size: int
    max_len: int  # the run's max_seq_length
    packed: bool  # packed text: every batch max_len wide

    def width(self, longest: int) -> int:
        """Packed text: max_len. Otherwise the smallest power of two (at least SMALLEST_BUCKET)
        that holds the longest row, capped at max_len: at most about log2(max_len) shapes."""
        if self.packed:
            return self.max_len
        bucket = max(SMALLEST_BUCKET, 1 << max(longest - 1, 0).bit_length())
        return min(bucket, self.max_len)


def collate(
    rows: Rows, index: torch.Tensor, device: torch.device, fixed: FixedShapes | None = None
) -> Batch:
    """The batch at `index` as (input_ids, labels, attention mask, real tokens).

    Without `fixed`: trimmed to its longest row, and the mask is None when nothing is padded.
    With FixedShapes: exactly fixed.batch_size rows of a bucket's width, always with a mask;
    missing rows are padding with no label, seen by no other row, so the loss (a mean over
    labelled tokens) and its gradient are those of the real rows alone."""
    if fixed is not None:
        return _collate_fixed(rows, index, device, fixed)
    lengths = rows.lengths[index]
    width = int(lengths.max())
    input_ids, labels = rows.padded(index, width)
    mask = None
    if int(lengths.min()) < width:
        mask = _to_device((torch.arange(width)[None, :] < lengths[:, None]).long(), device)
    return _to_device(input_ids, device), _to_device(labels, device), mask, int(lengths.sum())


def _collate_fixed(
    rows: Rows, index: torch.Tensor, device: torch.device, fixed: FixedShapes
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
    lengths = rows.lengths[index]
    width = fixed.width(int(lengths.max()))
    n = len(index)
    # Token 0 pads: any valid id does, as nothing attends to it and no label asks for it.
    input_ids = torch.zeros((fixed.batch_size, width), dtype=torch.long)
    labels = torch.full((fixed.batch_size, width), IGNORE_INDEX, dtype=torch.long)
    input_ids[:n], labels[:n] = rows.padded(index, width)
    # Empty rows attend to their first token alone: a query that may attend to nothing at all
    # turns to NaN in some attention kernels, and a NaN spreads through the backward pass.
    all_lengths = torch.ones(fixed.batch_size, dtype=torch.long)
    all_lengths[:n] = torch.clamp(lengths, max=width)
    mask = (torch.arange(width)[None, :] < all_lengths[:, None]).long()
    return (
        _to_device(input_ids, device),
        _to_device(labels, device),
        _to_device(mask, device),
        int(lengths.sum()),
    )


def _to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    # From pinned memory the copy is truly asynchronous: the CPU queues the next step's work
    # while the GPU still runs this one.
    if device.type == "cuda":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor
