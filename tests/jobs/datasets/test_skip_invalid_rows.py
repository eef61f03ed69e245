"""Skipping invalid rows: valid ones kept, the others listed, and training skips the same."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from jobs.datasets import reader
from jobs.datasets.services import dataset_create
from jobs.models import Dataset

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _small_minimum(settings):
    settings.DATASET_MIN_EXAMPLES = 3


def upload(owner, name, content, **kwargs):
    data = content if isinstance(content, bytes) else content.encode()
    return dataset_create(owner=owner, upload=SimpleUploadedFile(name, data), name="", **kwargs)


def mixed_lines():
    """Ten good prompt/completion lines with three bad ones at lines 3, 7 and 11."""
    lines = [json.dumps({"prompt": f"q{i}", "completion": f"a{i}"}) for i in range(10)]
    lines.insert(2, json.dumps({"prompt": "no answer"}))
    lines.insert(6, "{not json")
    lines.insert(10, json.dumps({"prompt": "q", "completion": 5}))
    return "\n".join(lines) + "\n"


def test_by_default_one_bad_row_makes_the_dataset_unusable(owner):
    dataset = upload(owner, "mixed.jsonl", mixed_lines())
    assert dataset.status == Dataset.Status.INVALID and dataset.error_count == 3
    assert dataset.skipped_rows == 0


def test_skipping_keeps_the_valid_rows_and_lists_the_skipped_ones(owner):
    dataset = upload(owner, "mixed.jsonl", mixed_lines(), skip_invalid_rows=True)
    assert dataset.status == Dataset.Status.VALID
    assert (dataset.num_examples, dataset.skipped_rows) == (10, 3)
    assert [(e["line"], e["field"]) for e in dataset.errors] == [
        (3, "completion"),
        (7, None),
        (11, "completion"),
    ]
    assert any("3 invalid rows skipped" in note for note in dataset.notes)


def test_training_reads_exactly_the_rows_the_report_kept(owner):
    dataset = upload(owner, "mixed.jsonl", mixed_lines(), skip_invalid_rows=True)
    examples = list(reader.iter_examples(dataset))
    assert [e["prompt"] for e in examples] == [f"q{i}" for i in range(10)]
    assert len(examples) == dataset.num_examples


def test_skipping_cannot_get_past_a_file_that_cannot_be_read_on(owner):
    broken = '[{"text": "a"}, {"text": "b"}, {"text": "c"}, {"text": "d"} {"text": "e"}]'
    dataset = upload(owner, "broken.json", broken, skip_invalid_rows=True)
    assert dataset.status == Dataset.Status.INVALID
    assert "rest of the file was not read" in dataset.errors[-1]["message"]


def test_skipping_still_needs_the_minimum_of_valid_examples(owner):
    lines = [json.dumps({"text": "fine"}), json.dumps({"text": 3}), json.dumps({"text": ""})]
    dataset = upload(owner, "few.jsonl", "\n".join(lines), skip_invalid_rows=True)
    assert dataset.status == Dataset.Status.INVALID
    assert "at least 3 are needed" in dataset.errors[-1]["message"]


def test_the_api_and_the_portal_offer_the_option(owner_api, owner_client):
    response = owner_api.post(
        "/api/v1/datasets/",
        {
            "file": SimpleUploadedFile("mixed.jsonl", mixed_lines().encode()),
            "skip_invalid_rows": "true",
        },
        format="multipart",
    )
    body = response.json()
    assert (body["is_valid"], body["skip_invalid_rows"], body["skipped_rows"]) == (True, True, 3)
    assert [e["line"] for e in body["errors"]] == [3, 7, 11]
    response = owner_client.post(
        reverse("dataset-list"),
        {
            "file": SimpleUploadedFile("mixed.jsonl", mixed_lines().encode()),
            "skip_invalid_rows": "on",
        },
    )
    page = owner_client.get(response["Location"]).content.decode()
    assert "3 invalid rows skipped" in page and "Line 7" in page
