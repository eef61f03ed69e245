"""Reading a stored dataset for training and preview: normalized examples, formatted text.

iter_examples(dataset) yields one example per valid record, in file order:
  {"text": str} | {"prompt": str, "completion": str} | {"messages": [{"role", "content"}, ...]}
format_segments(kind, example) gives the exact text the model sees as (text, carries_loss).
"""

from itertools import islice

from jobs.datasets.formatting import example_text, format_segments, generation_prompt
from jobs.datasets.rows import iter_rows
from jobs.datasets.validation import iter_examples_from_rows
from jobs.training.tokenizer import gpt2_tokenizer

__all__ = [
    "example_text",
    "format_segments",
    "generation_prompt",
    "iter_examples",
    "preview_examples",
]


def iter_examples(dataset):
    """Stream the dataset's valid examples; the file is opened and closed here."""
    with dataset.file.open("rb") as fileobj:
        rows = iter_rows(fileobj, dataset.format)
        examples = iter_examples_from_rows(
            rows,
            fmt=dataset.format,
            kind=dataset.kind or None,
            mapping=dataset.column_mapping or None,
        )
        for _line, _kind, _mapping, example in examples:
            yield example


def preview_examples(dataset, *, count=5):
    """The first examples as the model sees them: [{line, segments: [{text, loss}], tokens}]."""
    if not dataset.kind:
        return []
    tokenizer = gpt2_tokenizer()
    previews = []
    with dataset.file.open("rb") as fileobj:
        rows = iter_rows(fileobj, dataset.format)
        examples = iter_examples_from_rows(
            rows, fmt=dataset.format, kind=dataset.kind, mapping=dataset.column_mapping or None
        )
        for line, kind, _mapping, example in islice(examples, count):
            segments = format_segments(kind, example)
            text = "".join(t for t, _ in segments)
            previews.append(
                {
                    "line": line,
                    "segments": [{"text": t, "loss": loss} for t, loss in segments],
                    "tokens": len(tokenizer(text, add_special_tokens=False)["input_ids"]),
                }
            )
    return previews
