"""One bad row never fails a whole dataset: it is a row error with its line and field."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.datasets import reader
from jobs.datasets.services import dataset_create
from jobs.datasets.stats import TokenStats, count_tokens
from jobs.engine.tokenizer import EOS, gpt2_tokenizer
from jobs.models import Dataset

pytestmark = pytest.mark.django_db

HUGE = "9" * 5000  # past Python's 4,300-digit limit for converting a string to an int


@pytest.fixture(autouse=True)
def _small_minimum(settings):
    settings.DATASET_MIN_EXAMPLES = 3


def upload(owner, name, content, **kwargs):
    data = content if isinstance(content, bytes) else content.encode()
    return dataset_create(owner=owner, upload=SimpleUploadedFile(name, data), name="", **kwargs)


def good(count):
    return [json.dumps({"prompt": f"q{i}", "completion": f"a{i}"}) for i in range(count)]


@pytest.mark.parametrize("name", ["rows.jsonl", "rows.json"])
def test_a_lone_surrogate_escape_is_an_error_on_its_line_and_field(owner, name):
    lines = good(4)
    lines.insert(1, '{"prompt": "q", "completion": "bad \\ud800 text"}')
    content = "\n".join(lines) if name.endswith("jsonl") else "[" + ",\n".join(lines) + "]"
    dataset = upload(owner, name, content)
    assert dataset.status == Dataset.Status.INVALID and dataset.error_count == 1
    error = dataset.errors[0]
    assert (error["line"], error["field"]) == (2, "completion")
    assert "surrogate" in error["message"] and "\\ud800" in error["message"]
    assert dataset.num_examples == 4  # the other rows were judged (and counted) as usual


@pytest.mark.parametrize("name", ["rows.jsonl", "rows.json"])
def test_an_integer_of_5000_digits_is_an_error_on_its_line_and_field(owner, name):
    lines = good(4)
    lines.insert(2, '{"prompt": "q", "completion": ' + HUGE + "}")
    lines.insert(3, '{"prompt": "q", "completion": "fine", "id": ' + HUGE + "}")
    content = "\n".join(lines) if name.endswith("jsonl") else "[" + ",\n".join(lines) + "]"
    dataset = upload(owner, name, content)
    assert dataset.error_count == 1
    assert (dataset.errors[0]["line"], dataset.errors[0]["field"]) == (3, "completion")
    assert "must be a string, not a number" in dataset.errors[0]["message"]
    assert dataset.num_examples == 5  # an unused huge number does not harm its row


def test_a_surrogate_in_a_chat_message_or_a_csv_cell_is_a_row_error(owner):
    chat = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
    bad = {
        "messages": [{"role": "user", "content": "x\udc00"}, {"role": "assistant", "content": "y"}]
    }
    lines = [json.dumps(chat)] * 3 + [json.dumps(bad)]
    dataset = upload(owner, "chat.jsonl", "\n".join(lines), skip_invalid_rows=True)
    assert dataset.is_valid and dataset.skipped_rows == 1
    assert dataset.errors[0]["field"] == "messages[0].content"
    assert len(list(reader.iter_examples(dataset))) == 3


def test_a_row_the_tokenizer_refuses_is_reported_with_its_line(owner):
    stats = TokenStats(context_length=1024)
    stats.add("fine text", {"text": "fine text"}, line=1)
    stats.add(
        "bad \ud800", {"text": "bad"}, line=2
    )  # validation catches these before; belt and braces
    stats.add("more text", {"text": "more text"}, line=3)
    result = stats.result()
    assert result["examples"] == 2 and [line for line, _ in stats.rejected] == [2]


def test_a_long_text_is_counted_in_pieces_exactly_as_whole():
    text = ("Hello world,  this is\n\na test of counting. " * 6000) + "end<|endoftext|>"
    whole = len(gpt2_tokenizer()(text, add_special_tokens=False)["input_ids"])
    assert count_tokens(text) == whole


def test_a_huge_example_is_counted_and_its_preview_is_cut(owner):
    long_text = "word " * 400_000  # 2 MB on one line
    lines = good(3) + [json.dumps({"prompt": "long", "completion": long_text})]
    dataset = upload(owner, "long.jsonl", "\n".join(lines))
    assert dataset.is_valid
    whole = gpt2_tokenizer()("long\n" + long_text + EOS, add_special_tokens=False)["input_ids"]
    assert dataset.stats["max_tokens"] == len(whole)
    preview = reader.preview_examples(dataset)[3]
    shown = sum(len(s["text"]) for s in preview["segments"])
    assert shown == 4000 and preview["chars_not_shown"] > 1_990_000


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["\\ud800", "prompt\\u0000"])
def test_a_field_name_postgresql_cannot_store_never_leaves_a_dataset_validating(owner, key):
    """A JSONL field name holding a lone surrogate or NUL: the dataset ends valid or invalid with
    a report the user can read, never stuck in "validating"."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from jobs.datasets.services import dataset_create

    rows = "\n".join('{"' + key + f'": "line number {i}"}}' for i in range(12))
    dataset = dataset_create(
        owner=owner, upload=SimpleUploadedFile("odd.jsonl", rows.encode()), name="odd"
    )
    dataset.refresh_from_db()
    assert dataset.status in ("valid", "invalid")
    text = str(dataset.errors) + str(dataset.column_mapping) + str(dataset.notes)
    assert "\x00" not in text
    text.encode("utf-8")  # no lone surrogate left: it is stored and shown
