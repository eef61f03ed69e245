"""The rows a run trains and evaluates on, tokenised from its examples (data.py holds the
compact stores and batches they are made of)."""

from typing import TYPE_CHECKING

from jobs.engine import data
from jobs.engine.callbacks import Callbacks

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from jobs.engine.config import TrainConfig


def prepare_rows(
    cfg: "TrainConfig",
    tokenizer: "PreTrainedTokenizerBase",
    train_examples: data.ExamplesLike,
    eval_examples: data.ExamplesLike | None,
    cb: Callbacks | None = None,
) -> tuple[data.Rows, data.Rows | None, list[str]]:
    """Training and validation rows, plus warnings worth telling the user.

    1. Tokenise each split into a TokenStore (or read it from cfg.data_cache_dir).
    2. Plain text: pack into blocks; held out by block when there are no validation examples.
    3. Other kinds: one row per example; held out by whole examples."""
    cb = cb or Callbacks()
    warnings, dropped = [], 0
    store = _store(cfg, tokenizer, train_examples, cb, "training")
    if cfg.kind == "text":
        train_rows = data.packed_rows(store, block_size=cfg.max_seq_length)
        eval_rows = None
        if eval_examples is None:
            train_rows, eval_rows = data.split_rows(
                train_rows, fraction=cfg.validation_fraction, seed=cfg.seed
            )
    else:
        kept, held = None, None
        if eval_examples is None:
            kept, held = data.holdout_indices(
                len(store), fraction=cfg.validation_fraction, seed=cfg.seed
            )
        train_rows, dropped = data.example_rows(store, block_size=cfg.max_seq_length, index=kept)
        eval_rows = None
        if held is not None and len(held):
            eval_rows, _ = data.example_rows(store, block_size=cfg.max_seq_length, index=held)
    if eval_examples is not None:
        eval_store = _store(cfg, tokenizer, eval_examples, cb, "validation")
        if cfg.kind == "text":
            eval_rows = data.packed_rows(eval_store, block_size=cfg.max_seq_length)
        else:
            eval_rows, _ = data.example_rows(eval_store, block_size=cfg.max_seq_length)
    eval_rows = eval_rows if eval_rows is not None and len(eval_rows) else None
    if dropped:
        warnings.append(
            f"{dropped} examples left nothing to learn once cut to {cfg.max_seq_length} tokens "
            "and were skipped"
        )
    if not len(train_rows):
        raise ValueError("The dataset has no training rows left after tokenisation")
    if eval_rows is None:
        warnings.append(
            "Too little data to hold out a validation split (fewer than 4 examples, or 4 packed "
            "blocks of text): no eval loss will be reported"
        )
    return train_rows, eval_rows, warnings


def _store(
    cfg: "TrainConfig",
    tokenizer: "PreTrainedTokenizerBase",
    examples: data.ExamplesLike,
    cb: Callbacks,
    split: str,
) -> data.TokenStore:
    def progress(done: int, total: int | None) -> None:
        cb.on_tokenise({"split": split, "done": done, "total": total})

    store, cached = data.load_or_tokenise(
        examples, tokenizer, kind=cfg.kind, cache_dir=cfg.data_cache_dir, on_progress=progress
    )
    cb.on_tokenise(
        {"split": split, "done": len(store), "total": len(store), "cached": cached, "end": True}
    )
    return store
