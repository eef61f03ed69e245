"""The model an evaluation asks: one reference string, as everywhere on the platform (DESIGN.md):
a catalog key (`builtin-tiny`, `gpt2`), `job-<id>` (a succeeded job's model) or
`job-<id>-step-<n>` (a kept checkpoint of a finished job).

Resolving checks what the user may see: a job they may not see is a 404 (Http404), never a
hint that it exists; a model that cannot be loaded here is a ValidationError on `model`.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.http import Http404

from jobs.catalog.services import model_source, resolve_base_model
from jobs.models import BaseModel, Job
from jobs.training.downloads import checkpoint_model

if TYPE_CHECKING:
    from django.contrib.auth.models import User

JOB_REFERENCE = re.compile(r"job-([0-9]+)(?:-step-([0-9]+))?")  # ASCII digits only


@dataclass
class ModelRef:
    key: str  # the reference, normalised
    label: str  # how pages name it
    base_model: BaseModel  # the catalog row the model descends from (its size, its context)
    job: Job | None = None
    step: int | None = None


def resolve(user: "User", key: str) -> ModelRef:
    """The model `key` names, if `user` may evaluate it."""
    key = (key or "").strip()
    match = JOB_REFERENCE.fullmatch(key)
    if match is not None:
        job_id = int(match.group(1))
        if not Job.objects.visible_to(user).filter(pk=job_id).exists():
            raise Http404(f"No model {key!r}.")
    try:
        base_model, job = resolve_base_model(owner=user, key=key)
    except ValidationError as exc:
        raise ValidationError({"model": _messages(exc)}) from exc
    if job is None:
        return ModelRef(key=base_model.key, label=base_model.display_name, base_model=base_model)
    step = int(match.group(2)) if match is not None and match.group(2) else None
    label = f"Job #{job.pk}: {job.name}" + (f", step {step}" if step is not None else "")
    return ModelRef(key=key, label=label, base_model=base_model, job=job, step=step)


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [m for messages in exc.message_dict.values() for m in messages]
    return list(exc.messages)


def base_of(job: Job) -> ModelRef:
    """The model a job started from: its parent job's model (or checkpoint), or a catalog row."""
    assert job.base_model is not None  # every launched job names its root model
    parent = job.parent_job
    if parent is not None:
        step = job.parent_checkpoint_step
        key = f"job-{parent.pk}" + (f"-step-{step}" if step is not None else "")
        label = f"Job #{parent.pk}: {parent.name}" + (f", step {step}" if step is not None else "")
        return ModelRef(key=key, label=label, base_model=job.base_model, job=parent, step=step)
    return ModelRef(
        key=job.base_model.key, label=job.base_model.display_name, base_model=job.base_model
    )


def load_spec(*, job: Job | None, step: int | None, base_model: BaseModel | None) -> dict[str, Any]:
    """What jobs.playground.loading.load takes for this model: a folder, or a built-in model's
    config (its random weights are the same on every load). On a worker: a checkpoint is
    saved as a model first, a job's model fetched from the store."""
    if job is not None and step is not None:
        folder = str(Path(checkpoint_model(job=job, step=step)) / "model")
        return {"key": ["checkpoint", folder], "path": folder, "config": {}}
    if job is not None:
        folder = str(job.local_model_folder())
        return {"key": ["job", folder], "path": folder, "config": {}}
    if base_model is None:
        raise ValueError("The evaluated model's catalog entry was deleted.")
    path, config = model_source(base_model)
    if not path:
        return {"key": ["builtin", base_model.key], "path": "", "config": config}
    return {"key": ["pretrained", path], "path": path, "config": {}}
