"""Turn examples into rows the model trains on.

Examples arrive as segment lists, the output of jobs.datasets.reader.format_segments:
[(text, carries_loss), ...]. Plain text is packed (concatenate, then cut into blocks), so no
token is wasted on padding. Prompt/completion and chat examples keep one example per row, padded
per batch: attention never crosses from one example into another, and the loss only covers
the loss-carrying segments (the completion, the assistant turns).

Under torch.compile every new batch shape costs a compilation (seconds on a CPU, up to minutes
for a large model on a GPU), so a compiled run gets a few fixed shapes (FixedShapes): packed
text is always max_seq_length wide, other rows are padded to a power-of-two bucket, and the last,
smaller batch of an epoch gets empty rows that carry no loss and that no real row sees. An
uncompiled run keeps each batch trimmed to its longest row: padding would only cost compute
there, and the time estimates (jobs/planning) count that trimmed width.
"""

import random
import uuid
from dataclasses import dataclass

import torch

from jobs.constants import VALIDATION_MAX_ROWS, holdout_count

IGNORE_INDEX = -100  # label value the loss skips
SMALLEST_BUCKET = 16  # narrower batches are padded to this width under FixedShapes


@dataclass
class Rows:
    """Training rows as right-padded tensors; lengths[i] tokens of row i are real."""

    input_ids: torch.Tensor  # int64 [rows, max_len]
    labels: torch.Tensor  # int64 [rows, max_len], IGNORE_INDEX where no loss
    lengths: torch.Tensor  # int64 [rows]

    def __len__(self):
        return len(self.lengths)

    @property
    def num_tokens(self):
        return int(self.lengths.sum())


def split_holdout(examples, *, fraction, seed, max_examples=VALIDATION_MAX_ROWS):
    """Hold out a validation share of whole examples (never a piece of one), reproducibly."""
    n_eval = holdout_count(len(examples), fraction=fraction, max_count=max_examples)
    if not n_eval:
        return list(examples), []
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    held = set(order[:n_eval])
    train = [ex for i, ex in enumerate(examples) if i not in held]
    return train, [examples[i] for i in sorted(held)]


def split_rows(rows, *, fraction, seed, max_rows=VALIDATION_MAX_ROWS):
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


def _select(rows, index):
    return Rows(
        input_ids=rows.input_ids[index], labels=rows.labels[index], lengths=rows.lengths[index]
    )


def tokenize(examples, tokenizer):
    """Columns input_ids and loss_mask, one entry per example (segments joined): a
    `datasets.Dataset` (Arrow, compact), or plain lists where `datasets` is not installed (a bare
    GPU machine running bench/gpu_check.sh: the same rows, only held less compactly)."""
    columns = {
        "texts": [[t for t, _ in ex] for ex in examples],
        "loss": [[bool(c) for _, c in ex] for ex in examples],
    }

    def encode(batch):
        ids_out, mask_out = [], []
        for texts, loss in zip(batch["texts"], batch["loss"], strict=True):
            pieces = tokenizer(texts, add_special_tokens=False)["input_ids"] if texts else []
            ids_out.append([tok for piece in pieces for tok in piece])
            mask_out.append([c for piece, c in zip(pieces, loss, strict=True) for _ in piece])
        return {"input_ids": ids_out, "loss_mask": mask_out}

    try:
        import datasets
    except ImportError:
        return encode(columns)
    datasets.disable_progress_bars()  # a worker's log is not a terminal
    # A given fingerprint spares `datasets` from hashing the closure, tokenizer and all (seconds).
    return datasets.Dataset.from_dict(columns).map(
        encode,
        batched=True,
        remove_columns=["texts", "loss"],
        keep_in_memory=True,
        new_fingerprint=uuid.uuid4().hex,
    )


def pack(tokenized, *, block_size, eos_id):
    """Plain text: concatenate every example (each ending with EOS) and cut into blocks."""
    stream = []
    for ids in tokenized["input_ids"]:
        stream.extend(ids)
        if not ids or ids[-1] != eos_id:
            stream.append(eos_id)
    blocks = [stream[i : i + block_size] for i in range(0, len(stream), block_size)]
    # A last block of one token has nothing to predict.
    blocks = [b for b in blocks if len(b) > 1]
    return _to_rows(blocks, blocks, pad_id=eos_id)


def one_per_row(tokenized, *, block_size, eos_id):
    """Prompt/completion and chat: one example per row, loss only where the mask says so.

    Returns the rows and how many examples were dropped because truncation left no token to
    learn from (a prompt longer than the context)."""
    ids_rows, label_rows = [], []
    for ids, mask in zip(tokenized["input_ids"], tokenized["loss_mask"], strict=True):
        ids, mask = ids[:block_size], mask[:block_size]
        labels = [tok if keep else IGNORE_INDEX for tok, keep in zip(ids, mask, strict=True)]
        # The model predicts token i from tokens before it, so label 0 never counts.
        if len(ids) > 1 and any(lab != IGNORE_INDEX for lab in labels[1:]):
            ids_rows.append(ids)
            label_rows.append(labels)
    dropped = len(tokenized["input_ids"]) - len(ids_rows)
    return _to_rows(ids_rows, label_rows, pad_id=eos_id), dropped


def build_rows(examples, tokenizer, *, kind, block_size):
    """Rows for one split, and the number of examples dropped. kind "text" packs."""
    tokenized = tokenize(examples, tokenizer)
    if kind == "text":
        return pack(tokenized, block_size=block_size, eos_id=tokenizer.eos_token_id), 0
    return one_per_row(tokenized, block_size=block_size, eos_id=tokenizer.eos_token_id)


def batches(rows, *, batch_size, shuffle, seed=0, limit=None):
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

    def width(self, longest):
        """Packed text: max_len. Otherwise the smallest power of two (at least SMALLEST_BUCKET)
        that holds the longest row, capped at max_len: at most about log2(max_len) shapes."""
        if self.packed:
            return self.max_len
        bucket = max(SMALLEST_BUCKET, 1 << max(longest - 1, 0).bit_length())
        return min(bucket, self.max_len)


def collate(rows, index, device, fixed=None):
    """The batch at `index` as (input_ids, labels, attention mask, real tokens).

    Without `fixed`: trimmed to its longest row, and the mask is None when nothing is padded.
    With FixedShapes: exactly fixed.batch_size rows of a bucket's width, always with a mask;
    missing rows are padding with no label, seen by no other row, so the loss (a mean over
    labelled tokens) and its gradient are those of the real rows alone."""
    if fixed is not None:
        return _collate_fixed(rows, index, device, fixed)
    lengths = rows.lengths[index]
    width = int(lengths.max())
    input_ids = _to_device(rows.input_ids[index, :width], device)
    labels = _to_device(rows.labels[index, :width], device)
    mask = None
    if int(lengths.min()) < width:
        mask = _to_device((torch.arange(width)[None, :] < lengths[:, None]).long(), device)
    return input_ids, labels, mask, int(lengths.sum())


def _collate_fixed(rows, index, device, fixed):
    lengths = rows.lengths[index]
    width = fixed.width(int(lengths.max()))
    n, copied = len(index), min(width, rows.input_ids.shape[1])
    # Token 0 pads: any valid id does, as nothing attends to it and no label asks for it.
    input_ids = torch.zeros((fixed.batch_size, width), dtype=torch.long)
    labels = torch.full((fixed.batch_size, width), IGNORE_INDEX, dtype=torch.long)
    input_ids[:n, :copied] = rows.input_ids[index, :copied]
    labels[:n, :copied] = rows.labels[index, :copied]
    # Empty rows attend to their first token alone: a query that may attend to nothing at all
    # turns to NaN in some attention kernels, and a NaN spreads through the backward pass.
    all_lengths = torch.ones(fixed.batch_size, dtype=torch.long)
    all_lengths[:n] = lengths
    mask = (torch.arange(width)[None, :] < all_lengths[:, None]).long()
    return (
        _to_device(input_ids, device),
        _to_device(labels, device),
        _to_device(mask, device),
        int(lengths.sum()),
    )


def _to_device(tensor, device):
    # From pinned memory the copy is truly asynchronous: the CPU queues the next step's work
    # while the GPU still runs this one.
    if device.type == "cuda":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor


def _to_rows(id_rows, label_rows, *, pad_id):
    width = max((len(r) for r in id_rows), default=1)
    input_ids = torch.full((len(id_rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(id_rows), width), IGNORE_INDEX, dtype=torch.long)
    for i, (ids, labs) in enumerate(zip(id_rows, label_rows, strict=True)):
        input_ids[i, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        labels[i, : len(labs)] = torch.tensor(labs, dtype=torch.long)
    lengths = torch.tensor([len(r) for r in id_rows], dtype=torch.long)
    return Rows(input_ids=input_ids, labels=labels, lengths=lengths)
