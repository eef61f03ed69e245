"""Per-user quotas: how many jobs may wait or run at once, and how much storage a user's
datasets, checkpoints, models and model zips may take.

Limits come from settings (USER_MAX_QUEUED_JOBS, USER_MAX_RUNNING_JOBS, USER_STORAGE_QUOTA_MB);
a refusal is a ValidationError whose message names the variable an operator would raise.
"""

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet, Sum

from jobs.models import Checkpoint, Dataset, Job
from jobs.storage import files

if TYPE_CHECKING:
    from django.contrib.auth.models import User

MB = 1024 * 1024


def lock_owner(owner: "User") -> None:
    """Inside a transaction: wait for (and hold until it ends) the owner's user row, so that a
    check of their quota and the row it lets in are one step. Concurrent launches or uploads
    of one user are taken one at a time; 15 launches at once against 10 allowed let 10 in.
    (SQLite needs no lock: it runs write transactions one at a time.)"""
    users = get_user_model().objects.select_for_update()  # owner may be a request's lazy user
    list(users.filter(pk=owner.pk).values_list("pk", flat=True))


def storage_usage(owner: "User") -> dict[str, int]:
    """Bytes used by each kind of file the user owns, and the total, against the quota."""
    checkpoints = Checkpoint.objects.filter(job__owner=owner)
    usage = {
        "datasets": _sum(Dataset.objects.for_user(owner)),
        "checkpoints": _sum(checkpoints.filter(is_final=False)),
        "models": _sum(checkpoints.filter(is_final=True)),
        "zips": _zip_bytes(owner),
        "checkpoint_models": _checkpoint_model_bytes(owner),
    }
    usage["total"] = sum(usage.values())
    usage["quota"] = settings.USER_STORAGE_QUOTA_MB * MB
    usage["percent"] = min(100, round(100 * usage["total"] / usage["quota"]))
    return usage


def storage_used_bytes(owner: "User") -> int:
    return storage_usage(owner)["total"]


def _sum(queryset: QuerySet[Model]) -> int:
    return queryset.aggregate(total=Sum("size_bytes"))["total"] or 0


def _zip_bytes(owner: "User") -> int:
    # A zip is built on the first download and its size recorded nowhere else: ask the disk,
    # only for jobs that can have one.
    total = 0
    for job in Job.objects.for_user(owner).filter(status=Job.Status.SUCCEEDED).only("pk"):
        total += files.size(f"jobs/{job.pk}/model.zip")
    return total


def _checkpoint_model_bytes(owner: "User") -> int:
    """Kept checkpoints saved as models (and their zips) when someone downloads or trains from
    one: built for whoever asked, a viewer or a share included, they count against the owner of
    the job. Only jobs that keep checkpoints can have them."""
    total = 0
    with_checkpoints = Job.objects.for_user(owner).filter(checkpoints__is_final=False)
    for job in with_checkpoints.distinct().only("pk"):
        folder = job.folder / "checkpoint-models"
        if folder.is_dir():
            total += sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return total


def check_storage(owner: "User", adding: int = 0, *, field: str = "file") -> None:
    """Refuse `adding` more bytes (or anything, when full) over the user's storage quota."""
    used = storage_used_bytes(owner)
    quota = settings.USER_STORAGE_QUOTA_MB * MB
    if used + adding > quota or used >= quota:
        what = f"This file ({_mb(adding)}) does not fit in" if adding else "You have used"
        raise ValidationError(
            {
                field: [
                    f"{what} your storage quota: {_mb(used)} of {settings.USER_STORAGE_QUOTA_MB} "
                    "MB used (datasets, checkpoints, models and zips; USER_STORAGE_QUOTA_MB). "
                    "Delete datasets or jobs you no longer need."
                ]
            }
        )


def check_job_quota(owner: "User") -> None:
    """Refuse a launch while the user already has the most queued or running jobs allowed, or
    no storage left for the new job's checkpoints and model."""
    active = Job.objects.for_user(owner).active()
    queued = active.filter(status=Job.Status.QUEUED).count()
    if queued >= settings.USER_MAX_QUEUED_JOBS:
        raise ValidationError(
            {
                "quota": [
                    f"You already have {queued} queued jobs, the most allowed "
                    f"(USER_MAX_QUEUED_JOBS={settings.USER_MAX_QUEUED_JOBS}). Wait for one to "
                    "start or cancel one, then launch again."
                ]
            }
        )
    running = active.filter(status=Job.Status.RUNNING).count()
    if running >= settings.USER_MAX_RUNNING_JOBS:
        raise ValidationError(
            {
                "quota": [
                    f"You already have {running} running jobs, the most allowed "
                    f"(USER_MAX_RUNNING_JOBS={settings.USER_MAX_RUNNING_JOBS}). Wait for one to "
                    "finish or cancel one, then launch again."
                ]
            }
        )
    check_storage(owner, field="quota")


def _mb(size: float) -> str:
    return f"{size / MB:.1f} MB"
