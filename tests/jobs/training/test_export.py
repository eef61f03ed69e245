"""The downloaded model folder describes the model it holds: its tokenizer's model_max_length is
the model's own context, not GPT-2's 1,024 tokens."""

import io
import json
import zipfile

import pytest

from jobs.models import BaseModel, Job
from tests.jobs.training.runs import launch, make_dataset


@pytest.fixture
def sync_queue(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}


@pytest.mark.django_db
def test_the_tokenizer_of_a_downloaded_model_says_the_models_context(
    owner, owner_api, sync_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = launch(owner, make_dataset(owner))
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error

    response = owner_api.get(f"/api/v1/jobs/{job.pk}/model/")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    config, tokenizer_config = (
        json.loads(archive.read(next(n for n in archive.namelist() if n.endswith(f"/{name}"))))
        for name in ("config.json", "tokenizer_config.json")
    )

    context = BaseModel.objects.get(key="builtin-tiny").context_length
    assert context < 1024
    assert tokenizer_config["model_max_length"] == config["n_positions"] == context
