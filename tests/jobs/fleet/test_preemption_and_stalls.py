"""Real qcluster workers: SIGTERM to a busy worker checkpoints its job and returns it to the
queue within 30 s ("preempted; requeued", not a restart), and another worker continues it from
that checkpoint; a run that makes no step for JOB_STALL_TIMEOUT_S is requeued, then failed past
JOB_MAX_RESTARTS, with the reason."""

import os
import signal
import time

from jobs.models import Job, JobEvent
from jobs.models.worker import Worker
from jobs.training.services import job_launch
from tests.jobs.training.runs import FAST, make_dataset
from tests.jobs.training.test_job_worker import wait_for


def long_job(owner, lines=400):
    return job_launch(
        owner=owner,
        name="long",
        dataset=make_dataset(owner, lines=lines),
        base_model_key="builtin-tiny",
        hyperparameters={**FAST, "batch_size": 2, "save_steps": 1000, "eval_steps": 1000},
    )


def test_sigterm_to_a_busy_worker_requeues_its_job_from_a_checkpoint_and_another_continues(
    owner, qcluster
):
    job = long_job(owner)
    first = qcluster()
    assert wait_for(lambda: Job.objects.get(pk=job.pk).step >= 3, timeout=120), "never trained"
    worker = Worker.objects.get(name__endswith=f":{first.pid}")
    assert worker.pool == "cpu" and worker.kind == "cpu" and worker.memory_bytes > 0
    assert wait_for(lambda: Worker.objects.get(pk=worker.pk).current_job_id == job.pk, 10)

    os.killpg(first.pid, signal.SIGTERM)  # systemd's stop, a spot reclaim: the whole group
    signalled = time.monotonic()
    assert wait_for(lambda: Job.objects.get(pk=job.pk).status == Job.Status.QUEUED, timeout=30)
    assert time.monotonic() - signalled < 30
    first.wait(timeout=30)
    job.refresh_from_db()
    assert job.restart_count == 0 and job.preempt_count == 1
    preempted = JobEvent.objects.get(job=job, message__endswith="preempted; requeued")
    stopped_at = job.step
    assert job.checkpoints.filter(step=stopped_at, is_final=False).exists()
    assert Worker.objects.get(pk=worker.pk).stopped_at is not None

    qcluster()
    assert wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, timeout=180), "never finished"
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    resumed = JobEvent.objects.get(job=job, message__startswith="Resumed from the checkpoint")
    assert resumed.data["resumed_from"] == stopped_at and resumed.id > preempted.id
    assert job.restart_count == 0


def test_a_run_that_stalls_is_requeued_then_failed_with_the_reason(owner, qcluster, settings):
    job = long_job(owner, lines=40)
    # One second without a step: loading and tokenising already take longer, so every run
    # stalls before its first step; one restart is allowed, then the job fails.
    qcluster(JOB_STALL_TIMEOUT_S="1", JOB_MAX_RESTARTS="1")
    assert wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, timeout=180), "never ended"
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error.startswith("No training step for 1 s (JOB_STALL_TIMEOUT_S) on worker")
    assert "already restarted 1 times" in job.error
    assert job.events.filter(message__contains="restart 1 of 1").exists()
