"""Files in an S3-compatible store (a real moto server): uploads, checkpoints, the final model
and its zip live there, never in MEDIA_ROOT; a job resumed on a machine with an empty scratch
folder downloads its newest recorded checkpoint; the zip download is a short-lived presigned
URL for the owner only."""

import io
import shutil
import urllib.request
import zipfile

import pytest

from jobs.models import Checkpoint, Job, JobEvent
from jobs.training import tasks
from jobs.training.run import run_job
from jobs.training.services import job_launch
from tests.jobs.training.runs import FAST, make_dataset

pytestmark = pytest.mark.django_db


def test_a_job_s_files_live_in_the_store_and_the_owner_downloads_the_zip_from_it(
    owner, owner_api, other_api, s3_store, settings
):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    dataset = make_dataset(owner)
    assert s3_store.keys("datasets/") == [dataset.file.name]
    job = job_launch(
        owner=owner,
        name="stored",
        dataset=dataset,
        base_model_key="builtin-tiny",
        hyperparameters=FAST,
    )
    assert tasks.job_run_task(job.pk) == "succeeded"
    job.refresh_from_db()
    keys = s3_store.keys(f"jobs/{job.pk}/")
    assert f"jobs/{job.pk}/model.zip" in keys
    assert f"jobs/{job.pk}/final/model/config.json" in keys
    for checkpoint in Checkpoint.objects.filter(job=job, is_final=False):
        assert f"{checkpoint.path}/state.json" in keys  # uploaded before it was recorded
    assert not list(settings.MEDIA_ROOT.rglob("*.safetensors"))  # nothing on the shared disk

    response = owner_api.get(f"/api/v1/jobs/{job.pk}/model/")
    assert response.status_code == 302
    url = response["Location"]
    assert url.startswith(s3_store.env["AWS_S3_ENDPOINT_URL"]) and "Signature" in url
    assert "Expires=" in url or "X-Amz-Expires=300" in url
    with urllib.request.urlopen(url) as answer:  # what the browser fetches next
        names = zipfile.ZipFile(io.BytesIO(answer.read())).namelist()
    assert "model/config.json" in names
    assert other_api.get(f"/api/v1/jobs/{job.pk}/model/").status_code == 404


def test_a_job_resumed_on_a_machine_without_its_files_downloads_the_newest_checkpoint(
    owner, s3_store, settings
):
    job = job_launch(
        owner=owner,
        name="moved",
        dataset=make_dataset(owner, lines=120),
        base_model_key="builtin-tiny",
        hyperparameters={**FAST, "save_steps": 4},
    )
    # Machine A trains until its first checkpoint is recorded, then is stopped (as SIGTERM to
    # its qcluster does: the registry says "stopping").
    settings.WORKER_SCRATCH_DIR = settings.WORKER_SCRATCH_DIR.parent / "machine-a"
    claimed = Job.objects.claim_next("cpu", "machine-a:1")
    assert claimed.pk == job.pk

    def stopping():
        return Checkpoint.objects.filter(job=job, is_final=False).exists()

    assert run_job(job=claimed, worker="machine-a:1", stopping=stopping) == "preempted"
    recorded = Checkpoint.objects.filter(job=job, is_final=False).order_by("-step").first()
    shutil.rmtree(settings.WORKER_SCRATCH_DIR)  # machine A is gone with its disk

    settings.WORKER_SCRATCH_DIR = settings.WORKER_SCRATCH_DIR.parent / "machine-b"
    assert tasks.job_run_task(job.pk) == "succeeded"
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.restart_count == 0
    assert JobEvent.objects.filter(
        job=job, message=f"Downloading the checkpoint at step {recorded.step} from the store"
    ).exists()
    resumed = JobEvent.objects.get(job=job, message__startswith="Resumed from the checkpoint")
    assert resumed.data["resumed_from"] == recorded.step
