"""Tokenised data in compact arrays: a few bytes a token, memory-mapped, streamed a chunk at a
time with progress, and cached per dataset and tokenizer."""

import numpy as np
import pytest

from jobs.datasets.segments import format_segments
from jobs.engine import data, loop
from jobs.engine.callbacks import Callbacks
from jobs.engine.tokenizer import gpt2_tokenizer
from tests.jobs.engine.test_engine import config, text_examples


class Progress(Callbacks):
    def __init__(self):
        self.seen = []

    def on_tokenise(self, progress):
        self.seen.append(progress)


def counted(examples):
    """An Examples that counts how often it is read from the start."""
    reads = []

    def read():
        reads.append(1)
        return iter(examples)

    return data.Examples(read=read, count=len(examples), key="dataset-7"), reads


def test_a_store_keeps_under_eight_bytes_a_token_in_memory_mapped_files(tmp_path):
    examples = text_examples(300)
    store, cached = data.load_or_tokenise(
        data.Examples.of(examples), gpt2_tokenizer(), kind="text", cache_dir=None
    )
    assert not cached
    assert isinstance(store.ids, np.memmap) and isinstance(store.loss, np.memmap)
    assert store.ids.dtype == np.uint16  # GPT-2's 50,257 ids fit in two bytes
    per_token = (store.ids.nbytes + store.loss.nbytes + store.offsets.nbytes) / store.num_tokens
    assert per_token < 8
    # Each plain text ends with end-of-text, so packed blocks keep texts apart.
    ends = store.offsets[1:] - 1
    assert (store.ids[ends] == gpt2_tokenizer().eos_token_id).all()


def test_prompt_completion_flags_only_the_completion(tmp_path):
    tokenizer = gpt2_tokenizer()
    example = format_segments("prompt_completion", {"prompt": "Capital?", "completion": " Paris"})
    store, _ = data.load_or_tokenise([example], tokenizer, kind="prompt_completion", cache_dir=None)
    flagged = [int(t) for t, f in zip(store.ids, store.loss, strict=True) if f]
    assert tokenizer.decode(flagged) == " Paris<|endoftext|>"


def test_a_second_run_on_the_same_data_reads_the_cache_and_trains_the_same(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "CHUNK_EXAMPLES", 25)  # many chunks: progress in steps
    examples, reads = counted(text_examples(200))
    cache = tmp_path / "tokens"
    first_progress, second_progress = Progress(), Progress()
    first = loop.train(
        config(tmp_path / "a", data_cache_dir=str(cache)), examples, callbacks=first_progress
    )
    second = loop.train(
        config(tmp_path / "b", data_cache_dir=str(cache)), examples, callbacks=second_progress
    )

    assert len(reads) == 1  # the second run never read the examples again
    done = [p["done"] for p in first_progress.seen if not p.get("end")]
    assert done == list(range(25, 201, 25)) and first_progress.seen[0]["total"] == 200
    assert first_progress.seen[-1] == {
        "split": "training",
        "done": 200,
        "total": 200,
        "cached": False,
        "end": True,
    }
    assert second_progress.seen == [
        {"split": "training", "done": 200, "total": 200, "cached": True, "end": True}
    ]
    assert second.eval_loss == pytest.approx(first.eval_loss, rel=1e-6)
    assert len(list(cache.iterdir())) == 1  # one complete store, no half-written folder


def test_another_tokenizer_gets_its_own_store(tmp_path):
    tokenizer = gpt2_tokenizer()
    examples, _ = counted(text_examples(20))
    cache = tmp_path / "tokens"
    data.load_or_tokenise(examples, tokenizer, kind="text", cache_dir=cache)
    changed = gpt2_tokenizer().__class__(
        tokenizer_object=tokenizer.backend_tokenizer.__class__.from_str(
            tokenizer.backend_tokenizer.to_str()
        ),
        eos_token="<|endoftext|>",
    )
    changed.add_tokens(["<|extra|>"])
    assert data.tokenizer_fingerprint(changed) != data.tokenizer_fingerprint(tokenizer)
    _, cached = data.load_or_tokenise(examples, changed, kind="text", cache_dir=cache)
    assert not cached and len(list(cache.iterdir())) == 2
