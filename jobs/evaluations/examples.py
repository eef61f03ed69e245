"""The examples an evaluation asks a model about: each example's prompt and reference, cut
from the text the model was trained on (jobs.datasets.segments.format_segments), so a prompt
ends exactly where training started counting the answer.

- Prompt/completion (Alpaca included): the prompt as formatted, the completion as reference.
- Chat (ShareGPT included): the conversation up to the last assistant turn's "Assistant: "
  header as prompt, that turn's content as reference; earlier assistant turns stay in the
  prompt.
- Plain text: no reference to generate towards; the whole text is scored for perplexity.
"""

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from jobs.datasets.reader import format_segments, iter_examples
from jobs.datasets.segments import EOS, ROLE_HEADERS
from jobs.engine.constants import VALIDATION_FRACTION
from jobs.models import Dataset, Job

SAMPLE_SEED = 0  # which examples a capped evaluation of a whole dataset takes


@dataclass
class EvalExample:
    index: int  # the example's position among the dataset's valid examples
    prompt: str
    reference: str  # the text plain-text perplexity scores when generates is False


def has_references(dataset: Dataset) -> bool:
    """Whether the dataset's examples have an answer to compare an output with."""
    return dataset.kind in (Dataset.Kind.PROMPT_COMPLETION, Dataset.Kind.CHAT)


def stop_strings(kind: str) -> list[str]:
    """Where an answer ends besides the end-of-text token: a chat answer ends where the model
    starts the next turn ("\\nUser: ", ...), as chat training data does."""
    if kind == Dataset.Kind.CHAT:
        return ["\n" + header for header in ROLE_HEADERS.values()]
    return []


def answer_text(kind: str, text: str) -> str:
    """An answer cut as its reference is: a chat answer without the newline that ends its turn
    (the model writes it before the end-of-text token or the next turn's header)."""
    return text.removesuffix("\n") if kind == Dataset.Kind.CHAT else text


def split_example(kind: str, example: dict[str, Any]) -> tuple[str, str]:
    """(prompt, reference) of one example as the model was trained on it."""
    segments = format_segments(kind, example)
    if kind == Dataset.Kind.TEXT:
        return "", "".join(text for text, _ in segments).removesuffix(EOS)
    last = max(i for i, (_, loss) in enumerate(segments) if loss)
    prompt = "".join(text for text, _ in segments[:last])
    reference = segments[last][0].removesuffix(EOS)
    if kind == Dataset.Kind.CHAT:
        reference = reference.removesuffix("\n")  # the turn's end, not part of the answer
    return prompt, reference


def held_out_indices(job: Job) -> list[int] | None:
    """The examples of the job's training data that it held out for validation (the engine's
    own split: jobs.engine.data.holdout_indices with the job's seed), or None when it trained
    on packed plain text (held out by blocks, not examples)."""
    if job.dataset.kind == Dataset.Kind.TEXT:
        return None
    from jobs.engine.data import holdout_indices  # here, not above: it imports torch

    seed = int(job.hyperparameters.get("seed", 42))
    _, held = holdout_indices(job.dataset.num_examples, fraction=VALIDATION_FRACTION, seed=seed)
    return [int(i) for i in held]


def pick_indices(total: int, limit: int, among: list[int] | None = None) -> list[int]:
    """Which examples to evaluate: all of `among` (or of range(total)) when `limit` is 0 or
    more than there are, else a seeded random sample of `limit`, in dataset order."""
    pool = list(range(total)) if among is None else list(among)
    if limit and len(pool) > limit:
        pool = random.Random(SAMPLE_SEED).sample(pool, limit)
    return sorted(pool)


def load_examples(dataset: Dataset, indices: Iterable[int]) -> list[EvalExample]:
    """The chosen examples, read once through the file."""
    wanted = sorted(set(indices))
    if not wanted:
        return []
    chosen = set(wanted)
    found = []
    for index, example in _numbered(iter_examples(dataset), wanted[-1] + 1):
        if index in chosen:
            prompt, reference = split_example(dataset.kind, example)
            found.append(EvalExample(index=index, prompt=prompt, reference=reference))
    return found


def _numbered(examples: Iterator[dict[str, Any]], stop: int) -> Iterator[tuple[int, Any]]:
    return enumerate(islice(examples, stop))
