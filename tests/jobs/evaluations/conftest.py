import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.datasets.services import dataset_create


@pytest.fixture
def sync_queue(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}


def qa_rows(count=24):
    """Prompt/completion rows with a pattern to learn: the answer names the number asked."""
    return [
        {"prompt": f"Question {i}: name the number.", "completion": f" WORDNUM-{i}: number {i}"}
        for i in range(count)
    ]


def upload(owner, rows, name="qa", suffix="jsonl"):
    if suffix == "txt":
        body = "\n\n".join(rows).encode()
    else:
        body = "\n".join(json.dumps(r) for r in rows).encode()
    dataset = dataset_create(
        owner=owner, upload=SimpleUploadedFile(f"{name}.{suffix}", body), name=name
    )
    assert dataset.is_valid, dataset.errors
    return dataset


@pytest.fixture
def qa_dataset(owner):
    return upload(owner, qa_rows())
