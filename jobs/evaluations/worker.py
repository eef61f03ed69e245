"""What a worker does with an evaluation ticket: claim the pool's fairest queued evaluation and
run it, keep a ticket in the queue for every queued evaluation, and requeue the evaluations of
workers that died. The same shape as jobs.training.worker, whose claim counts evaluations too.
"""

import logging
import traceback
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jobs.evaluations.tickets import enqueue, waiting_tickets
from jobs.fleet import services as fleet
from jobs.models import Evaluation
from jobs.training.worker import failure_reason, worker_token

logger = logging.getLogger(__name__)


def evaluation_run_next(*, ticket_id: int, pool: str | None = None) -> str:
    """A ticket from a pool's queue: run the fairest queued evaluation of the pool."""
    if fleet.is_stopping():
        return "skipped"
    if pool is None:
        found = Evaluation.objects.filter(pk=ticket_id).values_list("pool", flat=True).first()
        pool = found or settings.WORKER_POOL
    worker = worker_token()
    evaluation = Evaluation.objects.claim_next(pool, worker)
    if evaluation is None:
        return "skipped"
    try:
        return run_claimed(evaluation, worker)
    finally:
        if not fleet.is_stopping():
            evaluation_top_up(pool=pool)


def run_claimed(evaluation: Evaluation, worker: str) -> str:
    """Run it (jobs.evaluations.run); any exception fails it with a readable reason."""
    try:
        from jobs.evaluations.run import run_evaluation  # here, not above: it imports torch

        return run_evaluation(evaluation=evaluation, worker=worker)
    except Exception as exc:
        logger.exception("evaluation %s failed", evaluation.pk)
        evaluation.fail(worker, failure_reason(exc))
        evaluation.log(traceback.format_exc(), level="debug")
        return "failed"


def evaluation_top_up(*, pool: str, older_than_s: float = 0) -> None:
    """More tickets while the pool's queued evaluations outnumber its waiting tickets (see
    jobs.training.worker.job_top_up, which does the same for jobs)."""
    waiting = waiting_tickets(pool, in_flight=False)
    if waiting is None:
        return
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    queued = Evaluation.objects.filter(
        status=Evaluation.Status.QUEUED, pool=pool, cancel_requested=False, queued_at__lte=cutoff
    )
    ids = list(queued.order_by("created_at").values_list("pk", flat=True))
    without = [pk for pk in ids if pk not in waiting]
    for pk in without[: max(0, len(ids) - len(waiting))]:
        enqueue(pk, pool)


def evaluation_reap_stale(*, timeout_s: float | None = None) -> list[int]:
    """Running evaluations whose heartbeat stopped: queued again to start over, failed past
    JOB_MAX_RESTARTS, or cancelled if asked. Returns the evaluations handled."""
    handled = []
    for evaluation in Evaluation.objects.stale(seconds=timeout_s):
        seen = evaluation.heartbeat_at
        why = f"The worker {evaluation.worker} stopped responding"
        if seen is not None:
            why += f" (no heartbeat since {seen:%Y-%m-%d %H:%M:%S} UTC)"
        outcome = evaluation.requeue_or_fail(why)
        if outcome == Evaluation.Status.QUEUED:
            transaction.on_commit(partial(enqueue, evaluation.pk, evaluation.pool))
        if outcome is not None:
            handled.append(evaluation.pk)
    return handled


def evaluation_pools() -> list[str]:
    queued = Evaluation.objects.filter(status=Evaluation.Status.QUEUED, cancel_requested=False)
    return sorted(set(queued.values_list("pool", flat=True)))
