"""The platform's records as the objects OpenAI's API defines (what the official client reads).

Ids carry the platform's primary keys: a Dataset is `file-<pk>`, a Job `ftjob-<pk>`, a JobEvent
`ftevent-<pk>`, a Checkpoint `ftckpt-<pk>`. A succeeded job's model is named
`ft:<base model>:<suffix, else the owner's username>:ftjob-<pk>`.
"""

from datetime import datetime, timedelta
from typing import Any, cast

from django.utils import timezone

from jobs.models import BaseModel, Checkpoint, Dataset, Job, JobEvent, MetricPoint

STATUSES: dict[str, str] = {  # Job.Status members are the str values job.status holds
    Job.Status.QUEUED: "queued",
    Job.Status.RUNNING: "running",
    Job.Status.PAUSED: "paused",
    Job.Status.SUCCEEDED: "succeeded",
    Job.Status.FAILED: "failed",
    Job.Status.CANCELLED: "cancelled",
}
LEVELS = {"debug": "info", "info": "info", "warning": "warn", "error": "error"}


def unix(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment else None


def listing(items: list[dict[str, Any]], *, has_more: bool) -> dict[str, Any]:
    return {
        "object": "list",
        "data": items,
        "has_more": has_more,
        "first_id": items[0]["id"] if items else None,
        "last_id": items[-1]["id"] if items else None,
    }


# --- Files ----------------------------------------------------------------------------------


def file_object(dataset: Dataset) -> dict[str, Any]:
    status, details = "processed", None
    if dataset.status == dataset.Status.VALIDATING:
        status = "uploaded"
    elif dataset.status == dataset.Status.INVALID:
        status, details = "error", validation_details(dataset)
    return {
        "id": f"file-{dataset.pk}",
        "object": "file",
        "bytes": dataset.size_bytes,
        "created_at": unix(dataset.created_at),
        "expires_at": None,
        "filename": dataset.original_filename,
        "purpose": "fine-tune",
        "status": status,
        "status_details": details,
    }


def validation_details(dataset: Dataset) -> str:
    """The platform's row-level report in one line: the first problems with line and field."""
    parts = []
    for error in dataset.errors[:3]:
        where = []
        if error.get("line"):
            where.append(f"line {error['line']}")
        if error.get("field"):
            where.append(f"field {error['field']!r}")
        parts.append(f"{', '.join(where)}: {error['message']}" if where else error["message"])
    more = dataset.error_count - len(parts)
    suffix = f" (and {more} more)" if more > 0 else ""
    return "; ".join(parts) + suffix if parts else "The file is not valid."


# --- Fine-tuning jobs -----------------------------------------------------------------------


def model_name(job: Job) -> str:
    # A job without a parent job starts from a catalog model: base_model is set.
    base = job.parent_job_id and f"job-{job.parent_job_id}" or cast(BaseModel, job.base_model).key
    return f"ft:{base}:{job.suffix or job.owner.username}:ftjob-{job.pk}"


def job_object(job: Job) -> dict[str, Any]:
    hp = job.hyperparameters
    hyperparameters = {
        "n_epochs": hp.get("epochs"),
        "batch_size": hp.get("batch_size"),
        "learning_rate_multiplier": job.requested_hyperparameters.get(
            "learning_rate_multiplier", 1.0
        ),
    }
    succeeded = job.status == Job.Status.SUCCEEDED
    return {
        "id": f"ftjob-{job.pk}",
        "object": "fine_tuning.job",
        "created_at": unix(job.created_at),
        "finished_at": unix(job.finished_at),
        # Without a parent job, base_model is set (see model_name).
        "model": f"job-{job.parent_job_id}"
        if job.parent_job_id
        else cast(BaseModel, job.base_model).key,
        "fine_tuned_model": model_name(job) if succeeded else None,
        "organization_id": f"user-{job.owner_id}",
        "status": STATUSES[job.status],
        "hyperparameters": hyperparameters,
        "training_file": f"file-{job.dataset_id}",
        "validation_file": f"file-{job.validation_dataset_id}"
        if job.validation_dataset_id
        else None,
        "result_files": [],
        "trained_tokens": job.tokens_seen if succeeded else None,
        "error": _error(job),
        "seed": hp.get("seed", 0),
        "estimated_finish": _estimated_finish(job),
        "metadata": job.metadata or None,
        "user_provided_suffix": job.suffix or None,
        "method": {"type": "supervised", "supervised": {"hyperparameters": hyperparameters}},
        "integrations": [],
    }


def _error(job: Job) -> dict[str, str | None] | None:
    if job.status != Job.Status.FAILED:
        return None
    return {"code": "training_failed", "message": job.error or "Training failed.", "param": None}


def _estimated_finish(job: Job) -> int | None:
    """From the live ETA while running, else from the launch estimate; none once finished."""
    if job.is_finished or job.status == Job.Status.PAUSED:
        return None
    if job.status == Job.Status.RUNNING and job.eta_seconds is not None:
        return unix(timezone.now() + timedelta(seconds=job.eta_seconds))
    seconds = (job.estimate or {}).get("seconds")
    if seconds is None:
        return None
    start = job.started_at or timezone.now()
    return unix(start + timedelta(seconds=seconds))


def event_object(event: JobEvent) -> dict[str, Any]:
    metrics = event.kind == "eval"
    return {
        "id": f"ftevent-{event.pk}",
        "object": "fine_tuning.job.event",
        "created_at": unix(event.created_at),
        "level": LEVELS.get(event.level, "info"),
        "message": event.message,
        "type": "metrics" if metrics else "message",
        "data": event.data or None,
    }


def checkpoint_object(checkpoint: Checkpoint, job: Job) -> dict[str, Any]:
    return {
        "id": f"ftckpt-{checkpoint.pk}",
        "object": "fine_tuning.job.checkpoint",
        "created_at": unix(checkpoint.created_at),
        "fine_tuning_job_id": f"ftjob-{job.pk}",
        "fine_tuned_model_checkpoint": f"{model_name(job)}:ckpt-step-{checkpoint.step}",
        "step_number": checkpoint.step,
        "metrics": {
            "step": checkpoint.step,
            "train_loss": _train_loss_at(job, checkpoint.step),
            "valid_loss": checkpoint.eval_loss,
            # Token accuracy is not recorded yet: null until training measures it.
            "train_mean_token_accuracy": None,
            "valid_mean_token_accuracy": None,
            "full_valid_loss": None,
            "full_valid_mean_token_accuracy": None,
        },
    }


def _train_loss_at(job: Job, step: int) -> float | None:
    point = (
        MetricPoint.objects.filter(job=job, step__lte=step, train_loss__isnull=False)
        .order_by("-step")
        .values_list("train_loss", flat=True)
        .first()
    )
    return point


# --- Models ---------------------------------------------------------------------------------


def model_object(ident: str, *, created: datetime | None, owned_by: str) -> dict[str, Any]:
    return {"id": ident, "object": "model", "created": unix(created) or 0, "owned_by": owned_by}
