"""The fleet end to end: worker processes as separate "machines" (each its own scratch folder
and its own empty MEDIA_ROOT: nothing shared but PostgreSQL and a real S3 server). Three users
launch nine jobs; every job succeeds exactly once; each user's first job starts before any
user's third; a worker killed with SIGKILL mid-job has its job resumed on another machine from
the checkpoint in the store; SIGTERM to a busy worker requeues its job within 30 s."""

import os
import signal
import time

from jobs.models import Checkpoint, Job, JobEvent
from jobs.models.worker import Worker
from jobs.training.services import job_launch
from tests.jobs.training.runs import FAST, make_dataset
from tests.jobs.training.test_job_worker import wait_for

HYPERPARAMETERS = {
    **FAST,
    "batch_size": 2,
    "gradient_accumulation_steps": 1,
    "save_steps": 5,
    "eval_steps": 20,
}


def machine(qcluster, store, tmp_path, name):
    """A worker on a machine of its own: its scratch and media folders are its alone."""
    return qcluster(
        **store.env,
        WORKER_SCRATCH_DIR=str(tmp_path / name / "scratch"),
        MEDIA_ROOT=str(tmp_path / name / "media"),
        JOB_HEARTBEAT_TIMEOUT_S="10",
    )


def running_on(proc):
    worker = Worker.objects.filter(name__endswith=f":{proc.pid}").first()
    return None if worker is None or worker.current_job_id is None else worker.current_job


def test_two_machines_share_nine_jobs_fairly_and_survive_a_kill_and_a_stop(
    django_user_model, qcluster, s3_store, tmp_path
):
    users = [
        django_user_model.objects.create_user(name, f"{name}@example.com", "pw-long-enough")
        for name in ("ann", "ben", "cat")
    ]
    jobs = {}
    for user in users:  # ann launches all three of hers first, then ben, then cat
        dataset = make_dataset(user, lines=200)
        for n in (1, 2, 3):
            jobs[(user.username, n)] = job_launch(
                owner=user,
                name=f"{user.username} {n}",
                dataset=dataset,
                base_model_key="builtin-tiny",
                hyperparameters=HYPERPARAMETERS,
            )
    first, second = (machine(qcluster, s3_store, tmp_path, name) for name in ("a", "b"))

    # kill -9 the first machine once a job of its own has a checkpoint in the store.
    def checkpointed_on_first():
        job = running_on(first)
        recorded = Checkpoint.objects.filter(job=job, is_final=False).exists() if job else False
        return job if recorded and Job.objects.get(pk=job.pk).status == "running" else None

    assert wait_for(lambda: checkpointed_on_first() is not None, timeout=300)
    killed = checkpointed_on_first()
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    third = machine(qcluster, s3_store, tmp_path, "c")

    # SIGTERM the third machine once it trains a job: back in the queue within 30 s.
    def training_on_third():
        job = running_on(third)
        return job if job and Job.objects.get(pk=job.pk).step >= 2 else None

    assert wait_for(lambda: training_on_third() is not None, timeout=300)
    stopped = training_on_third()
    os.killpg(third.pid, signal.SIGTERM)
    signalled = time.monotonic()
    assert wait_for(
        lambda: JobEvent.objects.filter(
            job=stopped, message__endswith="preempted; requeued"
        ).exists(),
        timeout=30,
    )
    assert time.monotonic() - signalled < 30
    third.wait(timeout=60)  # and the stopped worker leaves, taking no new job

    assert wait_for(lambda: all(Job.objects.get(pk=j.pk).is_finished for j in jobs.values()), 600)
    for job in jobs.values():
        job.refresh_from_db()
        assert job.status == Job.Status.SUCCEEDED, (job.name, job.error)
        assert job.events.filter(kind="state", message="Succeeded").count() == 1
        assert job.pool == "cpu"

    # Fair share: every user's first job started before any user's third.
    def first_start(job):
        return job.events.filter(message__startswith="Running on worker").order_by("id")[0].id

    firsts = [first_start(jobs[(u.username, 1)]) for u in users]
    thirds = [first_start(jobs[(u.username, 3)]) for u in users]
    assert max(firsts) < min(thirds)

    killed.refresh_from_db()
    assert killed.restart_count == 1
    assert killed.events.filter(message__contains="stopped responding").exists()
    assert killed.events.filter(message__startswith="Downloading the checkpoint at step").exists()
    assert killed.events.filter(message__startswith="Resumed from the checkpoint").exists()

    stopped.refresh_from_db()
    assert stopped.preempt_count == 1
    resumed = stopped.events.filter(message__startswith="Resumed from the checkpoint").last()
    assert resumed is not None
    for name in "abc":  # nothing was written to a machine's own media folder
        assert not list((tmp_path / name / "media").rglob("*.safetensors"))
