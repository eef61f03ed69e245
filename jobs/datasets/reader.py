"""Reading a stored dataset for training and preview: normalized examples, formatted text.

iter_examples(dataset) yields one example per valid record, in file order:
  {"text": str} | {"prompt": str, "completion": str} | {"messages": [{"role", "content"}, ...]}
format_segments(kind, example) gives the exact text the model sees as (text, carries_loss).
"""

from itertools import islice

from jobs.datasets.formats import FORMAT_OF_KIND, FORMATS
from jobs.datasets.rows import iter_rows
from jobs.datasets.segments import example_text, format_segments, generation_prompt
from jobs.datasets.stats import count_tokens
from jobs.datasets.validation import iter_examples_from_rows

__all__ = [
    "example_text",
    "format_segments",
    "generation_prompt",
    "iter_examples",
    "preview_examples",
]
# A preview shows this much of each example: a 15 MB line would otherwise land in the page.
PREVIEW_CHARS = 4000


def data_format_of(dataset):
    """The format the dataset was read as (older datasets only recorded their kind)."""
    return dataset.detected_format or FORMAT_OF_KIND.get(dataset.kind) or None


def _valid_rows(dataset, fileobj):
    """(line, format, mapping, example) for every row the validation report kept: the same
    reading, format, mapping and encoding, so exactly the rows it skipped are skipped here."""
    rows = iter_rows(fileobj, dataset.format, dataset.encoding or "utf-8")
    return iter_examples_from_rows(
        rows,
        fmt=dataset.format,
        data_format=data_format_of(dataset),
        mapping=dataset.column_mapping or None,
    )


def iter_examples(dataset):
    """Stream the dataset's valid examples; the file is opened and closed here."""
    with dataset.file.open("rb") as fileobj:
        for _line, _format, _mapping, example in _valid_rows(dataset, fileobj):
            yield example


def preview_examples(dataset, *, count=5):
    """The first examples as the model sees them:
    [{line, segments: [{text, loss}], tokens, chars_not_shown}]."""
    if not dataset.kind:
        return []
    previews = []
    with dataset.file.open("rb") as fileobj:
        for line, name, _mapping, example in islice(_valid_rows(dataset, fileobj), count):
            segments = format_segments(FORMATS[name].kind, example)
            shown, hidden = _shorten(segments, PREVIEW_CHARS)
            previews.append(
                {
                    "line": line,
                    "segments": [{"text": t, "loss": loss} for t, loss in shown],
                    "tokens": count_tokens("".join(t for t, _ in segments)),
                    "chars_not_shown": hidden,
                }
            )
    return previews


def _shorten(segments, limit):
    """The segments cut to `limit` characters in all, and how many characters were cut."""
    shown, room = [], limit
    for text, loss in segments:
        if room > 0:
            shown.append((text[:room], loss))
        room -= len(text)
    return shown, max(0, -room)
