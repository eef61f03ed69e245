"""Job workflows: launch, run (in a worker), cancel, reap dead workers' jobs, delete, export.

The job row, not the queue, is the source of truth. A worker owns a job only after one
conditional UPDATE (queued -> running, with its worker token); every later write by that
worker is conditional on the token, so a second delivery of the same task, or a worker that was
presumed dead, cannot overwrite the job. torch is imported only inside the worker's task
(jobs.training.run), never in the qcluster parent process: forked workers must not inherit an
initialised CUDA.

Deleting: a queued or running job must be cancelled first; a job another job continues from
cannot be deleted while that job exists.
"""

import logging
import os
import socket
import traceback
import uuid
import zipfile
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts import quotas
from jobs.catalog.catalog import resolve_base_model
from jobs.models import Dataset, Job
from jobs.planning import autoconfig

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
):
    """1. Check the datasets are the owner's and valid, the method known, the base model usable.
    2. Resolve hyperparameters (auto-config) and estimate time, memory and cost.
    3. Save the job as queued with a JobEvent; enqueue its task once the transaction commits."""
    quotas.check_job_quota(owner)
    _check_dataset(owner, dataset, "dataset")
    if validation_dataset is not None:
        _check_dataset(owner, validation_dataset, "validation_dataset")
    if method not in Job.Method.values:
        raise ValidationError({"method": [f"Choose one of: {', '.join(Job.Method.values)}."]})
    base_model, parent_job = resolve_base_model(owner=owner, key=base_model_key)
    requested = dict(hyperparameters or {})
    planned = autoconfig.plan_job(
        dataset=dataset,
        base_model=base_model,
        parent_job=parent_job,
        method=method,
        requested=requested,
        validation_dataset=validation_dataset,
    )
    with transaction.atomic():
        job = Job.objects.create(
            owner=owner,
            name=(name or "").strip()[:200] or f"{base_model.display_name} on {dataset.name}"[:200],
            dataset=dataset,
            validation_dataset=validation_dataset,
            base_model=base_model,
            parent_job=parent_job,
            method=method,
            requested_hyperparameters=requested,
            hyperparameters=planned["hyperparameters"],
            hyperparameter_reasons=planned["reasons"],
            total_steps=planned["total_steps"],
            estimate=planned["estimate"],
        )
        job.log("Queued", kind="state", data={"status": Job.Status.QUEUED})
        transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _check_dataset(owner, dataset, field):
    # Someone else's dataset reads as unknown: its existence is not ours to reveal.
    if dataset is None or dataset.owner_id != owner.pk or getattr(dataset, "deleted_at", None):
        raise ValidationError({field: ["Unknown dataset."]})
    if dataset.status != Dataset.Status.VALID:
        raise ValidationError(
            {field: [f"The dataset {dataset.name!r} is not valid, so it cannot be trained on."]}
        )


def _enqueue(job_id):
    from django_q.tasks import async_task

    # sync is read per call (django-q reads its own copy once at import).
    async_task("jobs.tasks.job_run_task", job_id, sync=settings.Q_CLUSTER.get("sync", False))


# --- Run (in a worker) ----------------------------------------------------------------------


def job_run(*, job_id):
    """1. Claim the job with one conditional UPDATE; do nothing if someone else has it.
    2. Train, export and record the outcome (jobs.training.run).
    3. Any exception leaves the job failed with a readable reason and the traceback."""
    worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    now = timezone.now()
    claimed = Job.objects.filter(
        pk=job_id, status=Job.Status.QUEUED, cancel_requested=False
    ).update(
        status=Job.Status.RUNNING,
        worker=worker,
        heartbeat_at=now,
        started_at=Coalesce("started_at", Value(now)),
        error="",
    )
    if not claimed:
        logger.info("job %s: not queued or already claimed; nothing to do", job_id)
        return "skipped"
    job = Job.objects.get(pk=job_id)
    job.log(
        f"Running on worker {worker}",
        kind="state",
        data={"status": Job.Status.RUNNING, "worker": worker},
    )
    try:
        from jobs.training.run import run_job

        return run_job(job=job, worker=worker)
    except Exception as exc:
        logger.exception("job %s failed", job_id)
        job_fail(job=job, worker=worker, reason=failure_reason(exc), details=traceback.format_exc())
        return "failed"


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


def job_fail(*, job, worker, reason, details=""):
    """Mark the job failed (only if this worker still owns it) and log why, with the traceback."""
    updated = Job.objects.filter(pk=job.pk, worker=worker, status=Job.Status.RUNNING).update(
        status=Job.Status.FAILED,
        error=reason,
        finished_at=timezone.now(),
    )
    if updated:
        job.log(
            f"Failed: {reason}",
            level="error",
            kind="state",
            data={"status": Job.Status.FAILED, "traceback": details},
        )
    return updated


# --- Cancel, reap, delete -------------------------------------------------------------------


def job_cancel(*, job):
    """A queued job is cancelled at once; a running one is asked to stop (its worker checks
    about once a second and keeps the checkpoints already written)."""
    if job.is_finished:
        raise ValidationError(
            {"status": [f"Job {job.pk} has already {job.status}: there is nothing to cancel."]}
        )
    # The job may move between queued and running while we ask (a worker claims it, the reaper
    # requeues it): try each conditional update again until one of them takes or none applies.
    for _ in range(5):
        if Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(
            status=Job.Status.CANCELLED, cancel_requested=True, finished_at=timezone.now()
        ):
            job.log(
                "Cancelled before it started", kind="state", data={"status": Job.Status.CANCELLED}
            )
            break
        if Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, cancel_requested=False).update(
            cancel_requested=True
        ):
            job.log("Cancel requested: stopping after the current step", kind="state")
            break
        job.refresh_from_db(fields=["status", "cancel_requested"])
        if job.is_finished or job.cancel_requested:
            break
    job.refresh_from_db()
    return job


def job_reap_stale(*, timeout_s=None):
    """Jobs marked running whose heartbeat stopped: their worker died (killed, OOM-killed, the
    machine went away). Requeue each to resume from its newest checkpoint, or fail it past
    JOB_MAX_RESTARTS, or cancel it if a cancel was asked for. Returns the jobs handled."""
    handled = []
    for job in Job.objects.stale(seconds=timeout_s):
        # Conditional on the heartbeat we read: a worker that just beat keeps its job.
        still_stale = Job.objects.filter(
            pk=job.pk, status=Job.Status.RUNNING, heartbeat_at=job.heartbeat_at
        )
        now = timezone.now()
        lost = (
            f"The worker {job.worker} stopped responding "
            f"(no heartbeat since {job.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC)"
        )
        if job.cancel_requested:
            if still_stale.update(status=Job.Status.CANCELLED, finished_at=now):
                job.log(
                    f"{lost}; cancelled as requested. Checkpoints are kept.",
                    kind="state",
                    data={"status": Job.Status.CANCELLED},
                )
        # A cancel asked for since the read must not ride along into the queue, where nothing
        # claims a job with cancel_requested: the next run cancels the job instead.
        elif not _requeue_or_fail(
            job,
            still_stale.filter(cancel_requested=False),
            why=lost,
            requeued="queued again to resume from its newest checkpoint",
            worker="",
        ):
            continue
        handled.append(job.pk)
    return handled


def job_requeue_lost(*, older_than_s=60):
    """Queued jobs that no task in the queue will ever run: their task was deleted from the
    queue, or failed before it could claim the job. Enqueue a new task for each (a duplicate
    does nothing: the claim is conditional), or fail the job past JOB_MAX_RESTARTS. Returns
    the jobs handled.

    Only jobs queued more than `older_than_s` ago count: a job enqueued (or requeued by
    job_reap_stale) just now may not have its task in the queue yet. Every update is
    conditional on the state read, so two reapers at once handle a job once."""
    from django_q.models import OrmQ

    if not settings.Q_CLUSTER.get("orm"):
        return []  # only the ORM broker's queue can be read back
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    candidates = list(
        Job.objects.filter(status=Job.Status.QUEUED, cancel_requested=False, queued_at__lt=cutoff)
    )
    if not candidates:
        return []
    waiting = {
        task.args()[0]
        for task in OrmQ.objects.filter(key=settings.Q_CLUSTER["name"])
        if task.func() == "jobs.tasks.job_run_task" and task.args()
    }
    handled = []
    for job in (job for job in candidates if job.pk not in waiting):
        still_lost = Job.objects.filter(
            pk=job.pk,
            status=Job.Status.QUEUED,
            cancel_requested=False,
            queued_at=job.queued_at,
            restart_count=job.restart_count,
        )
        if _requeue_or_fail(
            job,
            still_lost,
            why="Its task left the queue without running it",
            requeued="queued again",
        ):
            handled.append(job.pk)
    return handled


def _requeue_or_fail(job, pending, *, why, requeued, **fields):
    """Queue `job` again with a new task (setting `fields` too), or fail it once it has used
    JOB_MAX_RESTARTS; `why` starts the log line and the reason. `pending` selects the job only
    in the state the caller read, so a job that moved on meanwhile is left alone: returns
    whether the update took."""
    now = timezone.now()
    if job.restart_count >= settings.JOB_MAX_RESTARTS:
        reason = f"{why}, and the job already restarted {job.restart_count} times (the limit)."
        if not pending.update(status=Job.Status.FAILED, error=reason, finished_at=now):
            return False
        job.log(
            f"Failed: {reason}", level="error", kind="state", data={"status": Job.Status.FAILED}
        )
        return True
    if not pending.update(
        status=Job.Status.QUEUED, restart_count=F("restart_count") + 1, queued_at=now, **fields
    ):
        return False
    job.log(
        f"{why}; {requeued} (restart {job.restart_count + 1} of {settings.JOB_MAX_RESTARTS}).",
        level="warning",
        kind="state",
        data={"status": Job.Status.QUEUED},
    )
    transaction.on_commit(lambda pk=job.pk: _enqueue(pk))
    return True


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


def job_model_zip(*, job):
    """A zip of the final model folder, built once (to a temporary name, then renamed)."""
    if not job.has_model():
        raise ValidationError({"status": [job.no_model_reason()]})
    source = Path(settings.MEDIA_ROOT) / job.output_dir
    target = job.folder / "model.zip"
    if target.exists():
        return target
    tmp = target.with_name(f".model-{uuid.uuid4().hex}.zip")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(source))
    os.replace(tmp, target)
    return target
