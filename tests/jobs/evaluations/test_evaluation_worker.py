"""Evaluations on the workers: a real qcluster runs one on PostgreSQL; the claim shares a
pool fairly with jobs; the reaper requeues the evaluation of a worker that died."""

import time
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from jobs.evaluations.services import evaluation_create
from jobs.evaluations.worker import evaluation_reap_stale
from jobs.models import Evaluation, Job
from tests.jobs.evaluations.conftest import qa_rows, upload
from tests.jobs.factories import make_job

SMALL = {"max_new_tokens": 4, "batch_size": 8}


def wait_for(condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_a_real_worker_runs_an_evaluation_to_the_end(owner, qcluster):
    dataset = upload(owner, qa_rows(20))
    evaluation = evaluation_create(
        owner=owner, model="builtin-tiny", dataset=dataset, generation=SMALL, regex="^ W"
    )
    qcluster()
    finished = wait_for(lambda: Evaluation.objects.get(pk=evaluation.pk).is_finished, 120)
    assert finished, "the evaluation never finished"
    evaluation.refresh_from_db()
    assert evaluation.status == "succeeded", evaluation.error
    assert evaluation.examples.count() == 20
    assert evaluation.summary["regex"]["n"] == 20
    assert evaluation.worker and evaluation.actual["examples"] == 20
    log = list(evaluation.events.values_list("message", flat=True))
    assert log[0] == "Queued" and log[-1].startswith("Succeeded: 20 examples")


@pytest.mark.django_db
def test_a_users_running_evaluations_count_against_their_running_jobs(owner, other_user, settings):
    settings.USER_MAX_RUNNING_JOBS = 1
    dataset = upload(owner, qa_rows(10))
    running = evaluation_create(owner=owner, model="builtin-tiny", dataset=dataset)
    assert Evaluation.objects.claim_next(running.pool, "w1").pk == running.pk
    mine = make_job(owner, status=Job.Status.QUEUED, pool=running.pool)
    theirs = make_job(other_user, status=Job.Status.QUEUED, pool=running.pool)
    # The owner is at their limit with a running evaluation: the other user's job goes first,
    # then nothing (the owner's job waits until the evaluation ends).
    assert Job.objects.claim_next(running.pool, "w2").pk == theirs.pk
    assert Job.objects.claim_next(running.pool, "w3") is None
    mine.refresh_from_db()
    assert mine.status == Job.Status.QUEUED


@pytest.mark.django_db
def test_the_next_evaluation_goes_to_the_user_running_least(owner, other_user, settings):
    settings.USER_MAX_RUNNING_JOBS = 5
    busy = upload(owner, qa_rows(10), name="busy")
    idle = upload(other_user, qa_rows(10), name="idle")
    first = evaluation_create(owner=owner, model="builtin-tiny", dataset=busy)
    make_job(owner, status=Job.Status.RUNNING, pool=first.pool)  # the owner trains already
    evaluation_create(owner=owner, model="builtin-tiny", dataset=busy)
    later = evaluation_create(owner=other_user, model="builtin-tiny", dataset=idle)
    assert Evaluation.objects.claim_next(first.pool, "w").pk == later.pk


@pytest.mark.django_db
def test_a_dead_workers_evaluation_is_queued_again_then_failed_past_the_limit(
    owner, settings, django_capture_on_commit_callbacks
):
    settings.JOB_MAX_RESTARTS = 1
    dataset = upload(owner, qa_rows(10))
    evaluation = evaluation_create(owner=owner, model="builtin-tiny", dataset=dataset)
    for expected in ("queued", "failed"):
        assert Evaluation.objects.claim_next(evaluation.pool, "gone").pk == evaluation.pk
        Evaluation.objects.filter(pk=evaluation.pk).update(
            heartbeat_at=timezone.now() - timedelta(minutes=10)
        )
        assert evaluation_reap_stale(timeout_s=60) == [evaluation.pk]
        evaluation.refresh_from_db()
        assert evaluation.status == expected
    assert "stopped responding" in evaluation.error and "restarted 1 times" in evaluation.error


@pytest.mark.django_db
def test_an_operator_cancels_an_evaluation_from_the_admin(client, operator, owner):
    evaluation = evaluation_create(
        owner=owner, model="builtin-tiny", dataset=upload(owner, qa_rows(10))
    )
    client.force_login(operator)
    page = client.get(f"/admin/jobs/evaluation/{evaluation.pk}/change/")
    assert page.status_code == 200 and b"builtin-tiny" in page.content
    client.post(
        "/admin/jobs/evaluation/",
        {"action": "cancel", "_selected_action": [evaluation.pk]},
    )
    evaluation.refresh_from_db()
    assert evaluation.status == "cancelled"


@pytest.mark.django_db
def test_an_evaluation_no_live_pool_can_hold_is_refused_with_the_reason(owner):
    from jobs.models import Worker

    Worker.objects.create(
        name="small", pool="cpu", kind="cpu", memory_bytes=64 * 2**20, last_seen=timezone.now()
    )
    dataset = upload(owner, qa_rows(10))
    with pytest.raises(ValidationError) as refused:
        evaluation_create(owner=owner, model="builtin-tiny", dataset=dataset)
    [reason] = refused.value.message_dict["pool"]
    assert reason.startswith("No live pool can fit this evaluation: pool 'cpu' has 0.1 GiB")
    assert not Evaluation.objects.exists()
