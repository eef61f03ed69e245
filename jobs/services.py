"""Job workflows: launch, run (in a worker), cancel, reap dead workers' jobs, delete, export.

The job row, not the queue, is the source of truth, and it changes state only through its own
lifecycle methods (jobs.models: claim, finish, fail, request_cancel, the requeues), each one
conditional UPDATE; these workflows decide which to call and do what lies outside the row:
enqueue a task, run the engine, remove files. A worker owns a job only once its claim took, and
every later write of that worker is conditional on its token, so a second delivery of the same
task, or a worker that was presumed dead, cannot overwrite the job. torch is imported only
inside the worker's task (jobs.training.run, imported in job_run), never in the qcluster parent
process: forked workers must not inherit an initialised CUDA.

Deleting: a queued or running job must be cancelled first; a job another job continues from
cannot be deleted while that job exists.
"""

import logging
import os
import socket
import traceback
import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import quotas
from jobs.catalog.catalog import checkpoint_step_of
from jobs.fleet import files, routing
from jobs.fleet import services as fleet
from jobs.models import Job
from jobs.planning import autoconfig
from jobs.sharing.services import team_for
from jobs.training import archive

logger = logging.getLogger(__name__)


# --- Launch ---------------------------------------------------------------------------------


def job_launch(
    *,
    owner,
    name,
    dataset,
    base_model_key,
    method="full",
    hyperparameters=None,
    validation_dataset=None,
    suffix="",
    metadata=None,
    team_id=None,
    pool=None,
):
    """1. Check the user's job quotas (accounts.quotas) and the team it goes into, if any
       (a member's or admin's team; jobs.sharing.services.team_for).
    2. Check the request as the estimate does (autoconfig.plan_request): the datasets are the
       owner's and usable, the method known, the base model usable; resolve every
       hyperparameter and estimate time, memory and cost.
    3. Route it: the chosen pool if it can take it, else the cheapest live pool that fits
       (jobs.fleet.routing); refused with the reason when none can.
    4. Save the job as queued with a JobEvent; enqueue its task once the transaction commits."""
    quotas.check_job_quota(owner)
    team = team_for(user=owner, team_id=team_id)
    requested = dict(hyperparameters or {})
    base_model, parent_job, planned = autoconfig.plan_request_on_pools(
        owner=owner,
        dataset=dataset,
        base_model_key=base_model_key,
        method=method,
        hyperparameters=requested,
        validation_dataset=validation_dataset,
    )
    estimate = planned["estimate"]
    chosen = routing.route(requested_pool=pool, offers=estimate["pools"])
    with transaction.atomic():
        job = Job.objects.create_queued(
            pool=chosen,
            owner=owner,
            team=team,
            name=(name or "").strip()[:200] or f"{base_model.display_name} on {dataset.name}"[:200],
            dataset=dataset,
            validation_dataset=validation_dataset,
            base_model=base_model,
            parent_job=parent_job,
            parent_checkpoint_step=checkpoint_step_of(base_model_key) if parent_job else None,
            method=method,
            requested_hyperparameters=requested,
            hyperparameters=planned["hyperparameters"],
            hyperparameter_reasons=planned["reasons"],
            total_steps=planned["total_steps"],
            estimate=estimate,
            suffix=suffix,
            metadata=metadata or {},
        )
        transaction.on_commit(lambda: _enqueue(job.pk, job.pool))
    return job


def queue_name(pool):
    """The django-q2 queue (cluster) a pool's workers serve: the default one for DEFAULT_POOL."""
    return None if pool == settings.DEFAULT_POOL else pool


def _enqueue(job_id, pool):
    """A ticket in the pool's queue: the task it starts runs the pool's fairest queued job,
    which need not be `job_id` (see job_run_next)."""
    from django_q.tasks import async_task

    # sync is read per call (django-q reads its own copy once at import).
    async_task(
        "jobs.tasks.job_run_task",
        job_id,
        cluster=queue_name(pool),
        sync=settings.Q_CLUSTER.get("sync", False),
    )


# --- Run (in a worker) ----------------------------------------------------------------------


def job_run_next(*, ticket_id, pool=None):
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
    worker = _worker_token()
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


def job_run(*, job_id):
    """Run one given job (tests, a ticket for exactly this job): claim it, train it."""
    worker = _worker_token()
    job = Job.objects.claim(job_id, worker)
    if job is None:
        logger.info("job %s: not queued or already claimed; nothing to do", job_id)
        return "skipped"
    return _run_claimed(job, worker)


def _worker_token():
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _run_claimed(job, worker):
    """1. Tell the registry which job this worker runs.
    2. Train, export and record the outcome (jobs.training.run).
    3. Any exception leaves the job failed with a readable reason and the traceback.
    4. A stalled job gets a new ticket at once; a preempted one from job_top_up."""
    fleet.worker_running(job_id=job.pk)
    try:
        from jobs.training.run import run_job  # here, not above: it imports torch

        if job.parent_checkpoint_step is not None:  # the parent's checkpoint, saved as a model
            checkpoint_model(job=job.parent_job, step=job.parent_checkpoint_step)
        outcome = run_job(
            job=job,
            worker=worker,
            stopping=fleet.is_stopping,
            requeued=lambda: _enqueue(job.pk, job.pool),
        )
    except Exception as exc:
        logger.exception("job %s failed", job.pk)
        job.fail(worker, failure_reason(exc), details=traceback.format_exc())
        outcome = "failed"
    finally:
        fleet.worker_running(job_id=None)
    return outcome


def job_top_up(*, pool, older_than_s=0):
    """More tickets in the pool's queue while its queued jobs outnumber the tickets waiting
    there (not yet taken by a worker). A ticket can be spent without a job (it found only jobs
    of users at their running limit), or sit in a busy worker's prefetch, or die with a killed
    worker: an idle worker must still find one for each queued job. A spare ticket costs a
    worker one look at the queue ("skipped"). Runs after every job and from the reaper (which
    leaves alone jobs queued in the last `older_than_s`: their ticket may not be there yet)."""
    waiting = _waiting_tickets(pool, in_flight=False)
    if waiting is None:
        return
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    queued = Job.objects.filter(
        status=Job.Status.QUEUED, pool=pool, cancel_requested=False, queued_at__lte=cutoff
    )
    ids = list(queued.order_by("created_at").values_list("pk", flat=True))
    without = [pk for pk in ids if pk not in waiting]
    for pk in without[: max(0, len(ids) - len(waiting))]:
        _enqueue(pk, pool)


def _waiting_tickets(pool, *, in_flight=True):
    """The job ids of the tickets in the pool's queue (the ORM broker's rows), or None where
    the broker's queue cannot be read back. in_flight=False leaves out the tickets a worker
    has taken (the broker locks them into the future) and not finished."""
    from django_q.models import OrmQ

    if not settings.Q_CLUSTER.get("orm") or settings.Q_CLUSTER.get("sync"):
        return None
    key = queue_name(pool) or settings.Q_CLUSTER["name"]
    rows = OrmQ.objects.filter(key=key)
    if not in_flight:
        rows = rows.filter(lock__lte=timezone.now())
    return [
        task.args()[0] for task in rows if task.func() == "jobs.tasks.job_run_task" and task.args()
    ]


def failure_reason(exc):
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


# --- Cancel, reap, delete -------------------------------------------------------------------


def job_cancel(*, job):
    """Cancel a queued job at once, or ask a running one to stop (Job.request_cancel); a
    finished job is refused with the reason. Returns the job as it is now."""
    # The job may move between queued and running while we ask (a worker claims it, the reaper
    # requeues it): ask again on what we read next, until one request takes or none applies.
    for _ in range(5):
        if job.request_cancel():
            break
        job.refresh_from_db(fields=["status", "cancel_requested"])
        if job.is_finished or job.cancel_requested:
            break
    job.refresh_from_db()
    return job


def job_pause(*, job):
    """Pause a queued job at once, or ask a running one to write a checkpoint and stop
    (Job.request_pause); a finished or paused job is refused with the reason. Returns the job
    as it is now."""
    for _ in range(5):  # as in job_cancel: ask again on what we read next if the job moved
        if job.request_pause():
            break
        job.refresh_from_db(fields=["status", "pause_requested", "cancel_requested"])
        if job.is_finished or job.pause_requested or job.cancel_requested:
            break
    job.refresh_from_db()
    return job


def job_resume(*, job):
    """Queue a paused job again (Job.resume); its task continues from the newest checkpoint
    once the transaction commits. Anything but a paused job is refused with the reason."""
    with transaction.atomic():
        if job.resume():
            transaction.on_commit(lambda: _enqueue(job.pk, job.pool))
    job.refresh_from_db()
    return job


def job_reap_stale(*, timeout_s=None):
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


def job_requeue_lost(*, older_than_s=60):
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
        waiting = _waiting_tickets(pool) or []
        in_pool = queued.filter(pool=pool)
        deficit = in_pool.count() - len(waiting)
        candidates = in_pool.filter(queued_at__lt=cutoff).order_by("queued_at")
        lost = [job for job in candidates if job.pk not in waiting][: max(0, deficit)]
        handled += [job.pk for job in lost if _enqueue_if_queued(job, job.requeue_lost_task())]
    return handled


def pools_with_queued_jobs():
    queued = Job.objects.filter(status=Job.Status.QUEUED, cancel_requested=False)
    return sorted(set(queued.values_list("pool", flat=True)))


def _enqueue_if_queued(job, outcome):
    """After a requeue-or-fail: a job queued again gets its new task once the transaction
    commits. Returns whether the transition took (outcome is the new status, or None)."""
    if outcome == Job.Status.QUEUED:
        transaction.on_commit(lambda pk=job.pk, pool=job.pool: _enqueue(pk, pool))
    return outcome is not None


def job_delete(*, job):
    """Delete a finished job; its files (checkpoints, model, zip) go with it (jobs.signals)."""
    if not job.is_finished:
        reason = f"Job {job.pk} is {job.status}: cancel it, then delete it once it has stopped."
        raise ValidationError({"status": [reason]})
    children = sorted(job.child_jobs.values_list("pk", flat=True))
    if children:
        listed = ", ".join(f"#{pk}" for pk in children)
        reason = f"Other jobs continue from job {job.pk}'s model ({listed}): delete them first."
        raise ValidationError({"status": [reason]})
    job.delete()


# --- Export ---------------------------------------------------------------------------------


MODEL_FORMATS = ("zip", "gguf", "modelfile")
GGUF_QUANTS = ("f16", "q8_0")


def job_model_file(*, job, file_format="zip", quant="q8_0"):
    """The file to download for a job's model: (path, filename, content type).

    zip: the Hugging Face folder (and the LoRA adapter); gguf: the GGUF file in `quant` for
    llama.cpp and Ollama; modelfile: Ollama's Modelfile, which expects the q8_0 file beside it
    under the name it downloads with."""
    if file_format not in MODEL_FORMATS:
        raise ValidationError(
            {"format": [f"Unknown format {file_format!r}: use zip, gguf or modelfile."]}
        )
    if quant not in GGUF_QUANTS:
        raise ValidationError({"quant": [f"Unknown quant {quant!r}: use f16 or q8_0."]})
    if file_format == "zip":
        return job_model_zip(job=job), f"llm-tuner-job-{job.pk}-model.zip", "application/zip"
    if not job.has_model():
        raise ValidationError({"status": [job.no_model_reason()]})
    name = "Modelfile" if file_format == "modelfile" else job.gguf_file(quant).name
    key = f"{job.output_dir}/gguf/{name}"
    if not files.exists(key):
        raise ValidationError(
            {"format": [f"Job {job.pk} has no GGUF export (only GPT-2 models have one)."]}
        )
    # With an object store, the key (the caller hands out a short-lived URL); else the path.
    found = key if files.remote() else files.local_path(key)
    if file_format == "modelfile":
        return found, "Modelfile", "text/plain; charset=utf-8"
    return found, name, "application/octet-stream"


def job_model_zip(*, job):
    """The model's zip: the worker built it when the job ended. With an object store, its key
    (the caller hands out a short-lived URL); else its path, built here only for a job that
    ended before workers built them."""
    if not job.has_model():
        raise ValidationError({"status": [job.no_model_reason()]})
    if files.remote():
        key = f"jobs/{job.pk}/model.zip"
        if not files.exists(key):
            raise ValidationError({"status": [f"Job {job.pk}'s model zip is not in the store."]})
        return key
    target = job.folder / "model.zip"
    if target.exists():
        return target
    return archive.zip_folder(Path(settings.MEDIA_ROOT) / job.output_dir, target)


def checkpoint_find(*, job, step):
    """The job's kept checkpoint at `step` whose files are there; ValidationError naming the
    steps there are otherwise."""
    checkpoint = job.checkpoints.filter(step=step, is_final=False).first()
    if checkpoint is not None and files.folder_exists(checkpoint.path):
        return checkpoint
    kept = [c.step for c in job.checkpoints.filter(is_final=False)]
    listed = ", ".join(map(str, kept)) if kept else "none"
    raise ValidationError(
        {"step": [f"Job {job.pk} keeps no checkpoint at step {step} (kept steps: {listed})."]}
    )


def checkpoint_model(*, job, step):
    """The folder of the checkpoint at `step` saved as a model (model/, adapter/ for LoRA),
    made the first time it is asked for: loading the base model takes seconds to minutes."""
    checkpoint = checkpoint_find(job=job, step=step)
    folder = job.checkpoint_model_dir(step)
    if not (folder / "model" / "config.json").exists():
        from jobs.training.checkpoint_model import export_checkpoint  # imports torch

        try:
            export_checkpoint(job=job, checkpoint=checkpoint)
        except FileNotFoundError as exc:  # a running job pruned it meanwhile
            raise ValidationError(
                {"step": [f"The checkpoint at step {step} was removed while being read."]}
            ) from exc
    return folder


def checkpoint_model_zip(*, job, step):
    """A zip of the checkpoint at `step` saved as a model, built once."""
    folder = checkpoint_model(job=job, step=step)
    target = folder.with_name(f"{folder.name}.zip")
    return target if target.exists() else archive.zip_folder(folder, target)
