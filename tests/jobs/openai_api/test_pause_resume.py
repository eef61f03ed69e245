"""Pause writes a checkpoint and holds the job; resume queues it again and it continues from
that checkpoint, through the official client and on the portal's buttons alike."""

import pytest
from django.urls import reverse

from jobs.models import Checkpoint, Job, JobEvent
from tests.jobs.openai_api.conftest import jsonl, wait_for

pytestmark = pytest.mark.slow

WORDS = "the quick brown fox jumps over a lazy dog while seven owls watch".split()
ROWS = [{"text": " ".join(WORDS[(i + j) % len(WORDS)] for j in range(12))} for i in range(400)]
# Checkpoints only when paused (save_steps past the end), so the one found is the pause's.
LONG = {"n_epochs": 2, "batch_size": 2, "max_seq_length": 32, "save_steps": 100000}


def test_pause_checkpoints_and_holds_and_resume_continues_from_there(owner, openai_for, qcluster):
    client = openai_for(owner)
    upload = client.files.create(file=("owls.jsonl", jsonl(ROWS)), purpose="fine-tune")
    created = client.fine_tuning.jobs.create(
        model="builtin-tiny", training_file=upload.id, hyperparameters=LONG
    )
    job = Job.objects.get(pk=created.id.removeprefix("ftjob-"))
    qcluster()
    assert wait_for(lambda: _reload(job).status == "running" and job.step >= 2, timeout=300)

    assert client.fine_tuning.jobs.pause(created.id).status == "running"  # asked, not yet held
    held = wait_for(lambda: _api_status(client, created.id, "paused"), timeout=60)
    assert held is not None and held.estimated_finish is None
    _reload(job)
    assert 0 < job.step < job.total_steps
    assert Checkpoint.objects.filter(job=job, step=job.step, is_final=False).exists()
    paused_at = job.step

    assert client.fine_tuning.jobs.resume(created.id).status == "queued"
    done = wait_for(lambda: _api_status(client, created.id, "succeeded"), timeout=300)
    assert done is not None, _reload(job).status
    resumed = JobEvent.objects.get(job=job, message__startswith="Resumed from the checkpoint")
    assert resumed.data["resumed_from"] == paused_at


def test_pause_and_resume_refuse_what_they_cannot_do_with_a_409(owner, openai_for):
    import openai

    client = openai_for(owner)
    upload = client.files.create(file=("owls.jsonl", jsonl(ROWS[:40])), purpose="fine-tune")
    created = client.fine_tuning.jobs.create(model="builtin-tiny", training_file=upload.id)
    with pytest.raises(openai.ConflictError, match="only a paused job can be resumed") as raised:
        client.fine_tuning.jobs.resume(created.id)
    assert raised.value.response.headers["x-should-retry"] == "false"
    assert client.fine_tuning.jobs.pause(created.id).status == "paused"  # queued: at once
    with pytest.raises(openai.ConflictError, match="already paused"):
        client.fine_tuning.jobs.pause(created.id)
    assert client.fine_tuning.jobs.cancel(created.id).status == "cancelled"
    with pytest.raises(openai.ConflictError, match="nothing to cancel"):
        client.fine_tuning.jobs.cancel(created.id)
    with pytest.raises(openai.ConflictError, match="nothing to pause"):
        client.fine_tuning.jobs.pause(created.id)


def test_the_job_page_has_pause_and_resume_buttons(
    client, owner, django_capture_on_commit_callbacks
):
    from tests.jobs.factories import make_job

    job = make_job(owner, status=Job.Status.QUEUED)
    client.force_login(owner)
    page = client.get(reverse("job-detail", args=[job.pk])).content.decode()
    assert 'id="pause-form"' in page and 'id="resume-form"' not in page
    client.post(reverse("job-pause", args=[job.pk]))
    assert _reload(job).status == Job.Status.PAUSED
    page = client.get(reverse("job-detail", args=[job.pk])).content.decode()
    assert 'id="resume-form"' in page and 'id="pause-form"' not in page
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        client.post(reverse("job-resume", args=[job.pk]))
    assert _reload(job).status == Job.Status.QUEUED and len(enqueued) == 1


def test_another_users_job_cannot_be_paused_from_the_portal(client, owner, other_user):
    from tests.jobs.factories import make_job

    job = make_job(owner, status=Job.Status.QUEUED)
    client.force_login(other_user)
    assert client.post(reverse("job-pause", args=[job.pk])).status_code == 404
    assert _reload(job).status == Job.Status.QUEUED


def _reload(job):
    job.refresh_from_db()
    return job


def _api_status(client, job_id, status):
    job = client.fine_tuning.jobs.retrieve(job_id)
    return job if job.status == status else None
