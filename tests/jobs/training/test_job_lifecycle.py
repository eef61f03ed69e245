"""A job's lifecycle on its model: each transition takes only from the state its caller read
and, where a worker acts, only for the worker that owns the job; each that takes writes exactly
one state event, and one that does not take changes nothing."""

import ast
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from jobs.models import Job, JobEvent
from tests.jobs.training.runs import launch, make_dataset
from tests.test_import_graph import PACKAGES, ROOT, project_modules

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(owner):
    """A queued job whose task is never run (the queue is not processed in these tests)."""
    return launch(owner, make_dataset(owner))


def states(job):
    return list(JobEvent.objects.filter(job=job, kind="state").values_list("message", flat=True))


def go_stale(job):
    """What a dead worker leaves behind: a running job whose heartbeat stopped an hour ago."""
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    return Job.objects.stale().get(pk=job.pk)


def test_a_second_claim_of_one_job_does_nothing(job):
    first = Job.objects.claim(job.pk, "host:1:first")
    second = Job.objects.claim(job.pk, "host:2:second")

    assert first.status == Job.Status.RUNNING and first.worker == "host:1:first"
    assert second is None
    assert Job.objects.get(pk=job.pk).worker == "host:1:first"
    assert states(job) == ["Queued", "Running on worker host:1:first"]


def test_a_claim_of_a_job_that_no_longer_exists_does_nothing(job):
    pk = job.pk
    job.delete()
    assert Job.objects.claim(pk, "host:1:a") is None


def test_the_owning_worker_finishes_its_job_once_with_the_measured_figures(job):
    mine = Job.objects.claim(job.pk, "host:1:a")

    assert mine.finish("host:1:a", Job.Status.SUCCEEDED, "Succeeded", actual={"seconds": 2.5})
    assert not mine.finish("host:1:a", Job.Status.SUCCEEDED, "Succeeded", actual={"seconds": 9})
    assert not mine.fail("host:1:a", "too late")

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.actual == {"seconds": 2.5}
    assert job.finished_at is not None and not job.error
    assert states(job) == ["Queued", "Running on worker host:1:a", "Succeeded"]


def test_finish_refuses_to_end_a_run_as_failed(job):
    mine = Job.objects.claim(job.pk, "host:1:a")
    with pytest.raises(ValueError, match="use fail"):
        mine.finish("host:1:a", Job.Status.FAILED, "no", actual={})
    assert Job.objects.get(pk=job.pk).status == Job.Status.RUNNING


def test_a_failure_keeps_its_reason_and_logs_the_traceback_once(job):
    mine = Job.objects.claim(job.pk, "host:1:a")

    assert mine.fail("host:1:a", "The disk is full.", details="Traceback: ...")
    assert not mine.fail("host:1:a", "Another reason")

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.error == "The disk is full."
    failure = JobEvent.objects.get(job=job, kind="state", level="error")
    assert failure.message == "Failed: The disk is full."
    assert failure.data == {"status": "failed", "traceback": "Traceback: ..."}


def test_a_worker_that_lost_its_job_can_neither_report_on_it_nor_end_it(job):
    old = Job.objects.claim(job.pk, "host:1:old")
    assert go_stale(job).requeue_for_dead_worker() == Job.Status.QUEUED
    new = Job.objects.claim(job.pk, "host:2:new")
    new.record_progress("host:2:new", step=7)

    assert not old.heartbeat("host:1:old")
    assert not old.record_progress("host:1:old", step=99)
    assert old.stop_reason("host:1:old") == "lost to another worker"
    assert not old.finish("host:1:old", Job.Status.SUCCEEDED, "Succeeded", actual={})
    assert not old.fail("host:1:old", "it broke")

    job.refresh_from_db()
    assert (job.status, job.worker, job.step) == (Job.Status.RUNNING, "host:2:new", 7)
    assert new.stop_reason("host:2:new") is None
    assert len(states(job)) == 4  # queued, running, requeued, running again


def test_cancelling_a_queued_job_ends_it_and_a_second_cancel_is_refused_with_the_reason(job):
    assert job.request_cancel()
    assert job.status == Job.Status.CANCELLED

    with pytest.raises(ValidationError) as refused:
        job.request_cancel()
    assert refused.value.message_dict["status"] == [
        f"Job {job.pk} has already cancelled: there is nothing to cancel."
    ]
    assert Job.objects.claim(job.pk, "host:1:a") is None
    assert states(job) == ["Queued", "Cancelled before it started"]


def test_cancelling_a_running_job_asks_its_worker_to_stop_once(job):
    mine = Job.objects.claim(job.pk, "host:1:a")
    seen_running = Job.objects.get(pk=job.pk)

    assert seen_running.request_cancel()
    assert not seen_running.request_cancel()  # already asked: nothing more to do

    assert mine.stop_reason("host:1:a") == "cancelled"
    assert Job.objects.get(pk=job.pk).status == Job.Status.RUNNING  # until its worker stops
    assert mine.finish("host:1:a", Job.Status.CANCELLED, "Cancelled at step 3", actual={})
    assert states(job)[-2:] == [
        "Cancel requested: stopping after the current step",
        "Cancelled at step 3",
    ]


def test_a_cancel_read_as_queued_does_nothing_once_a_worker_has_the_job(job):
    read_while_queued = Job.objects.get(pk=job.pk)
    Job.objects.claim(job.pk, "host:1:a")

    assert not read_while_queued.request_cancel()
    assert Job.objects.get(pk=job.pk).status == Job.Status.RUNNING


def test_a_worker_that_beat_after_the_reaper_read_keeps_its_job(job):
    mine = Job.objects.claim(job.pk, "host:1:a")
    read_by_reaper = go_stale(job)
    assert mine.heartbeat("host:1:a")

    assert read_by_reaper.requeue_for_dead_worker() is None
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING and job.restart_count == 0


def test_a_dead_workers_job_with_a_cancel_asked_is_cancelled_not_requeued(job):
    Job.objects.claim(job.pk, "host:1:a")
    job.refresh_from_db()
    job.request_cancel()

    assert go_stale(job).requeue_for_dead_worker() == Job.Status.CANCELLED
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED and job.restart_count == 0
    assert states(job)[-1].endswith("cancelled as requested. Checkpoints are kept.")


def test_requeueing_past_the_restart_limit_fails_the_job_with_the_reason(job, settings):
    settings.JOB_MAX_RESTARTS = 1
    Job.objects.claim(job.pk, "host:1:a")
    assert go_stale(job).requeue_for_dead_worker() == Job.Status.QUEUED
    job.refresh_from_db()
    assert (job.status, job.restart_count, job.worker) == (Job.Status.QUEUED, 1, "")

    Job.objects.claim(job.pk, "host:2:b")
    assert go_stale(job).requeue_for_dead_worker() == Job.Status.FAILED

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.restart_count == 1
    assert job.error.startswith("The worker host:2:b stopped responding")
    assert job.error.endswith("and the job already restarted 1 times (the limit).")
    assert states(job)[-1] == f"Failed: {job.error}"
    assert len(states(job)) == 5  # queued, running, requeued, running, failed


def test_two_reapers_requeueing_one_lost_task_requeue_it_once(job, settings):
    settings.JOB_MAX_RESTARTS = 3
    first_read, second_read = Job.objects.get(pk=job.pk), Job.objects.get(pk=job.pk)

    assert first_read.requeue_lost_task() == Job.Status.QUEUED
    assert second_read.requeue_lost_task() is None

    job.refresh_from_db()
    assert job.restart_count == 1
    assert states(job)[1:] == [
        "Its task left the queue without running it; queued again (restart 1 of 3)."
    ]


# The Job's own model modules, and the Evaluation's (whose records change state the same way,
# each one conditional update in its own model).
JOB_MODEL_MODULES = ("jobs.models.job", "jobs.models.job_lifecycle", "jobs.models.evaluation")


def test_only_the_job_model_writes_a_job_status():
    """No `.update(status=...)` or `.create(status=...)` other than a Dataset's, and no
    `job.status = ...`, anywhere in the project but the Job's own model modules (and the
    Evaluation's, for its own status)."""
    writers = []
    modules = project_modules(ROOT, PACKAGES)
    assert set(JOB_MODEL_MODULES) <= set(modules)  # the exemption names modules that exist
    for module, path in modules.items():
        if module in JOB_MODEL_MODULES:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if _writes_job_status(node):
                writers.append(f"{module}:{node.lineno}")
    assert writers == []


WRITES = ("update", "create", "update_or_create", "get_or_create", "bulk_update")


def _writes_job_status(node):
    if isinstance(node, ast.Call) and ast.unparse(node.func).endswith(WRITES):
        return any(
            keyword.arg == "status" and not ast.unparse(keyword.value).startswith("Dataset.")
            for keyword in node.keywords
        )
    if isinstance(node, ast.Assign):
        return any(ast.unparse(target).endswith("job.status") for target in node.targets)
    return False
