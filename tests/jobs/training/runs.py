"""Jobs that really train, for the tests of every topic: a small valid dataset, hyperparameters
that finish in seconds on builtin-tiny, and a launch. The queue in sync mode is the fixture
`sync_queue` (tests/jobs/training/conftest.py)."""

import json

from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.datasets.services import dataset_create
from jobs.training.services import job_launch

WORDS = "the cat sat on a mat while dogs ran over green hills under blue skies".split()
FAST = {
    "epochs": 1,
    "batch_size": 4,
    "max_seq_length": 32,
    "learning_rate": 3e-3,
    "eval_steps": 3,
    "save_steps": 3,
    "warmup_ratio": 0.0,
}


def make_dataset(owner, *, lines=40, name="lines"):
    rows = [
        json.dumps({"text": " ".join(WORDS[(i + j) % len(WORDS)] for j in range(10))})
        for i in range(lines)
    ]
    upload = SimpleUploadedFile(f"{name}.jsonl", "\n".join(rows).encode())
    dataset = dataset_create(owner=owner, upload=upload, name=name)
    assert dataset.is_valid, dataset.errors
    return dataset


def launch(owner, dataset, **kwargs):
    options = {"name": "tiny run", "base_model_key": "builtin-tiny", "hyperparameters": FAST}
    return job_launch(owner=owner, dataset=dataset, **{**options, **kwargs})
