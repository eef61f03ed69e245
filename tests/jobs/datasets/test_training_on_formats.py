"""The engine trains on what the report kept: new formats, other encodings, skipped rows."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.datasets.services import dataset_create
from jobs.models import Job, JobEvent
from jobs.training.services import job_launch
from tests.jobs.training.runs import FAST

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sync_queue(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}


def upload(owner, name, data, **kwargs):
    return dataset_create(owner=owner, upload=SimpleUploadedFile(name, data), name="", **kwargs)


def train(owner, dataset, capture):
    with capture(execute=True):
        job = job_launch(
            owner=owner,
            name="formats",
            dataset=dataset,
            base_model_key="builtin-tiny",
            hyperparameters=FAST,
        )
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    return job


def prepared_examples(job):
    message = JobEvent.objects.filter(job=job, message__startswith="Preparing: tokenising").get()
    return int(message.message.split()[2].replace(",", ""))


def test_a_windows_1252_alpaca_csv_with_a_bad_row_skipped_trains_on_the_valid_rows(
    owner, django_capture_on_commit_callbacks
):
    rows = ["instruction,input,output"]
    rows += [f"Translate {i},café {i},crème {i}" for i in range(30)]
    rows.insert(7, "No output,here,")
    data = ("\r\n".join(rows) + "\r\n").encode("cp1252")
    dataset = upload(owner, "alpaca.csv", data, skip_invalid_rows=True)
    assert dataset.is_valid and dataset.skipped_rows == 1
    assert (dataset.detected_format, dataset.encoding) == ("alpaca", "windows-1252")
    job = train(owner, dataset, django_capture_on_commit_callbacks)
    assert prepared_examples(job) == dataset.num_examples == 30


def test_a_utf16_sharegpt_file_trains(owner, django_capture_on_commit_callbacks):
    chat = {
        "conversations": [
            {"from": "human", "value": "Bonjour, ça va ?"},
            {"from": "gpt", "value": "Très bien, merci."},
        ]
    }
    text = "\n".join(json.dumps(chat, ensure_ascii=False) for _ in range(24)) + "\n"
    dataset = upload(owner, "chat.jsonl", text.encode("utf-16"))
    assert dataset.is_valid and dataset.detected_format == "sharegpt"
    job = train(owner, dataset, django_capture_on_commit_callbacks)
    assert prepared_examples(job) == 24
