"""What a worker runs: claim the fairest queued job of its pool and train it, keep tickets in
the queue for every queued job, and requeue the jobs of workers that died.

A worker owns a job only once its claim took (Job.objects.claim_next), and every later write of
that worker is conditional on its token, so a second delivery of the same task, or a worker that
was presumed dead, cannot overwrite the job. torch is imported only inside the run
(jobs.training.run), never in the qcluster parent process: forked workers must not inherit an
initialised CUDA.
"""

import logging
import os
import socket
import traceback
import uuid
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jobs.fleet import services as fleet
from jobs.models import Job
from jobs.training.downloads import checkpoint_model
from jobs.training.tickets import enqueue, waiting_tickets

logger = logging.getLogger(__name__)


def job_run_next(*, ticket_id: int, pool: str | None = None) -> str:
    """A task from a pool's queue: run the fairest queued job of the pool (JobQuerySet.claim_next),
    whichever job's launch put the ticket there. The pool is the ticket job's (else WORKER_POOL).
    Nothing to claim (every queued job's owner is at USER_MAX_RUNNING_JOBS): "skipped"; the
    ticket each job end tops up (_top_up) starts the passed-over job later."""
    if fleet.is_stopping():
        # SIGTERM reached this worker: it takes no new job (the ticket is replaced elsewhere).
        return "skipped"
    if pool is None:
        ticket_job = Job.objects.filter(pk=ticket_id).values_list("pool", flat=True).first()
        pool = ticket_job or settings.WORKER_POOL
    worker = worker_token()
    job = Job.objects.claim_next(pool, worker)
    if job is None:
        logger.info("pool %s: nothing to claim for ticket %s", pool, ticket_id)
        return "skipped"
    try:
        return _run_claimed(job, worker)
    finally:
        # Not from a worker told to stop: its own pusher could take the new tickets and then
        # block forever handing them to workers that are gone (django-q2's stop waits on it).
        # The other workers' top-ups and the reaper give the preempted job its ticket.
        if not fleet.is_stopping():
            job_top_up(pool=pool)


def job_run(*, job_id: int) -> str:
    """Run one given job (tests, a ticket for exactly this job): claim it, train it."""
    worker = worker_token()
    job = Job.objects.claim(job_id, worker)
    if job is None:
        logger.info("job %s: not queued or already claimed; nothing to do", job_id)
        return "skipped"
    return _run_claimed(job, worker)


def worker_token() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _run_claimed(job: Job, worker: str) -> str:
    """1. Tell the registry which job this worker runs.
    2. Train, export and record the outcome (jobs.training.run).
    3. Any exception leaves the job failed with a readable reason and the traceback.
    4. A stalled job gets a new ticket at once; a preempted one from job_top_up."""
    fleet.worker_running(job_id=job.pk)
    try:
        from jobs.training.run import run_job  # here, not above: it imports torch

        if job.parent_checkpoint_step is not None:  # the parent's checkpoint, saved as a model
            assert job.parent_job is not None  # job_launch sets both or neither
            checkpoint_model(job=job.parent_job, step=job.parent_checkpoint_step)
        outcome = run_job(
            job=job,
            worker=worker,
            stopping=fleet.is_stopping,
            requeued=lambda: enqueue(job.pk, job.pool),
        )
    except Exception as exc:
        logger.exception("job %s failed", job.pk)
        job.fail(worker, failure_reason(exc), details=traceback.format_exc())
        outcome = "failed"
    finally:
        fleet.worker_running(job_id=None)
    return outcome


def job_top_up(*, pool: str, older_than_s: float = 0) -> None:
    """More tickets in the pool's queue while its queued jobs outnumber the tickets waiting
    there (not yet taken by a worker). A ticket can be spent without a job (it found only jobs
    of users at their running limit), or sit in a busy worker's prefetch, or die with a killed
    worker: an idle worker must still find one for each queued job. A spare ticket costs a
    worker one look at the queue ("skipped"). Runs after every job and from the reaper (which
    leaves alone jobs queued in the last `older_than_s`: their ticket may not be there yet)."""
    waiting = waiting_tickets(pool, in_flight=False)
    if waiting is None:
        return
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    queued = Job.objects.filter(
        status=Job.Status.QUEUED, pool=pool, cancel_requested=False, queued_at__lte=cutoff
    )
    ids = list(queued.order_by("created_at").values_list("pk", flat=True))
    without = [pk for pk in ids if pk not in waiting]
    for pk in without[: max(0, len(ids) - len(waiting))]:
        enqueue(pk, pool)


def failure_reason(exc: BaseException) -> str:
    """One sentence a user can act on, for the usual ways training fails."""
    text = str(exc)
    if (
        isinstance(exc, MemoryError)
        or type(exc).__name__ == "OutOfMemoryError"
        or "out of memory" in text.lower()
    ):
        return (
            "Training ran out of memory. Try a smaller batch_size or max_seq_length, "
            "LoRA instead of "
            "full fine-tuning, or a smaller base model."
        )
    if isinstance(exc, OSError) and exc.errno == 28:  # ENOSPC
        return (
            "The disk is full: the worker could not write checkpoints or the model. "
            "An operator must free space."
        )
    if type(exc).__name__ == "ModelLoadError":
        return text.splitlines()[0][:1000]
    if isinstance(exc, OSError) and ("config.json" in text or "does not appear to have" in text):
        first = text.splitlines()[0] if text else type(exc).__name__
        return f"The base model could not be loaded: {first}"
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    return f"{type(exc).__name__}: {first_line}"[:1000] if first_line else type(exc).__name__


def job_reap_stale(*, timeout_s: float | None = None) -> list[int]:
    """Jobs marked running whose heartbeat stopped: their worker died (killed, OOM-killed, the
    machine went away). Each is requeued with a new task to resume from its newest checkpoint,
    failed past JOB_MAX_RESTARTS, or cancelled if a cancel was asked for
    (Job.requeue_for_dead_worker). Returns the jobs handled."""
    handled = []
    for job in Job.objects.stale(seconds=timeout_s):
        if _enqueue_if_queued(job, job.requeue_for_dead_worker()):
            fleet.worker_lost_job(job_id=job.pk)
            handled.append(job.pk)
    return handled


def job_requeue_lost(*, older_than_s: float = 60) -> list[int]:
    """Queued jobs that no task in the queue will ever run: their task was deleted from the
    queue, or failed before it could claim the job. Each gets a new task (a duplicate does
    nothing: the claim is conditional), or fails past JOB_MAX_RESTARTS
    (Job.requeue_lost_task). Returns the jobs handled.

    Only jobs queued more than `older_than_s` ago count: a job enqueued (or requeued by
    job_reap_stale) just now may not have its task in the queue yet."""
    if not settings.Q_CLUSTER.get("orm"):
        return []  # only the ORM broker's queue can be read back
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    handled = []
    queued = Job.objects.filter(status=Job.Status.QUEUED, cancel_requested=False)
    for pool in queued.values_list("pool", flat=True).distinct():
        # Tickets are the pool's, not a job's (a ticket runs the pool's fairest job): a job is
        # lost only while the pool's queued jobs outnumber its waiting tickets.
        waiting = waiting_tickets(pool) or []
        in_pool = queued.filter(pool=pool)
        deficit = in_pool.count() - len(waiting)
        candidates = in_pool.filter(queued_at__lt=cutoff).order_by("queued_at")
        lost = [job for job in candidates if job.pk not in waiting][: max(0, deficit)]
        handled += [job.pk for job in lost if _enqueue_if_queued(job, job.requeue_lost_task())]
    return handled


def pools_with_queued_jobs() -> list[str]:
    queued = Job.objects.filter(status=Job.Status.QUEUED, cancel_requested=False)
    return sorted(set(queued.values_list("pool", flat=True)))


def _enqueue_if_queued(job: Job, outcome: str | None) -> bool:
    """After a requeue-or-fail: a job queued again gets its new task once the transaction
    commits. Returns whether the transition took (outcome is the new status, or None)."""
    if outcome == Job.Status.QUEUED:
        transaction.on_commit(partial(enqueue, job.pk, job.pool))
    return outcome is not None
