"""A real qcluster worker process: a job whose worker is killed with SIGKILL mid-training is
requeued by the reaper and resumes from its newest checkpoint, the global step continuing."""

import os
import signal
import time

from django.db.models import Max

from jobs.models import Checkpoint, Job, JobEvent, MetricPoint
from jobs.training.services import job_launch
from jobs.training.worker import job_reap_stale
from tests.jobs.training.runs import FAST, make_dataset


def wait_for(condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_a_killed_worker_s_job_resumes_from_its_checkpoint_with_the_step_continuing(
    owner, qcluster
):
    hyperparameters = {**FAST, "batch_size": 2, "save_steps": 5, "eval_steps": 10}
    job = job_launch(
        owner=owner,
        name="kill me",
        dataset=make_dataset(owner, lines=240),
        base_model_key="builtin-tiny",
        hyperparameters=hyperparameters,
    )
    first = qcluster()
    assert wait_for(lambda: Checkpoint.objects.filter(job=job).exists(), timeout=120), (
        "no checkpoint"
    )
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING and job.step < job.total_steps  # killed mid-run

    time.sleep(1.5)
    assert job_reap_stale(timeout_s=1) == [job.pk]
    qcluster()
    assert wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, timeout=120), "never finished"

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.restart_count == 1 and job.step == job.total_steps
    resumed = JobEvent.objects.get(
        job=job, message__startswith="Resumed from the checkpoint at step"
    )
    resumed_step = resumed.data["resumed_from"]
    assert resumed_step >= 5
    later = MetricPoint.objects.filter(job=job, created_at__gte=resumed.created_at).exclude(
        train_loss=None
    )
    assert later.exists() and min(p.step for p in later) > resumed_step
    steps = list(
        MetricPoint.objects.filter(job=job).exclude(train_loss=None).values_list("step", flat=True)
    )
    assert steps == sorted(set(steps))  # nothing logged twice
    assert (
        MetricPoint.objects.filter(job=job).aggregate(Max("step"))["step__max"] == job.total_steps
    )
