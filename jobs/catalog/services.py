"""The base-model catalog: what a job can start from, and whether this host can load it.

Four kinds of entry:
- pretrained GPT-2 family by hub id (downloaded where the host has network, otherwise found in
  BASE_MODELS_DIR/<hub id> or the local Hugging Face cache);
- built-in GPT-2-architecture models with random weights (always offline, official tokenizer);
- local folders an operator registers in the admin (source "local");
- the user's own succeeded jobs ("job-<id>"), so a finished model can be trained further.
Catalog rows are seeded by `seed_catalog` (a post_migrate handler), never by a migration.
"""

import json
import os
import re
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError

from jobs.engine.constants import (
    BYTES_PER_TRAINABLE_WEIGHT,
    BYTES_PER_WEIGHT,
    GPT2_CONTEXT_LENGTH,
    GPT2_VOCAB_SIZE,
    padded_vocab_size,
)
from jobs.models import BaseModel, Checkpoint, Job
from jobs.storage import files
from tunerproject.ids import DB_INT_MAX, parse_int, unknown

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Full fine-tuning trains every weight.
BYTES_PER_PARAMETER_FULL = BYTES_PER_WEIGHT + BYTES_PER_TRAINABLE_WEIGHT

# (key, display name, n_layer, n_head, n_embd, n_positions, description)
HUB_MODELS = [
    (
        "distilgpt2",
        "DistilGPT-2 (82M)",
        6,
        12,
        768,
        GPT2_CONTEXT_LENGTH,
        "GPT-2 distilled to 6 layers: pretrained English, quick to train.",
    ),
    (
        "gpt2",
        "GPT-2 small (124M)",
        12,
        12,
        768,
        GPT2_CONTEXT_LENGTH,
        "OpenAI's GPT-2, pretrained on English web text.",
    ),
    (
        "gpt2-medium",
        "GPT-2 medium (355M)",
        24,
        16,
        1024,
        GPT2_CONTEXT_LENGTH,
        "Pretrained GPT-2, 24 layers.",
    ),
    (
        "gpt2-large",
        "GPT-2 large (774M)",
        36,
        20,
        1280,
        GPT2_CONTEXT_LENGTH,
        "Pretrained GPT-2, 36 layers: wants a GPU.",
    ),
    (
        "gpt2-xl",
        "GPT-2 XL (1.5B)",
        48,
        25,
        1600,
        GPT2_CONTEXT_LENGTH,
        "Pretrained GPT-2, 48 layers: wants a large GPU.",
    ),
]
RANDOM_WEIGHTS = (
    "Random initial weights: it knows nothing until trained, so expect gibberish at first. "
)
BUILTIN_MODELS = [
    (
        "builtin-tiny",
        "Built-in tiny (3M, random weights)",
        2,
        2,
        64,
        256,
        RANDOM_WEIGHTS + "Trains in seconds on a CPU: for trying the platform out.",
    ),
    (
        "builtin-small",
        "Built-in small (16M, random weights)",
        4,
        4,
        256,
        512,
        RANDOM_WEIGHTS + "Learns the style of a small dataset in minutes on a CPU.",
    ),
    (
        "builtin-gpt2-124m",
        "Built-in GPT-2 124M architecture (random weights)",
        12,
        12,
        768,
        GPT2_CONTEXT_LENGTH,
        RANDOM_WEIGHTS + "GPT-2 small's shape trained from scratch: wants a GPU.",
    ),
]


def gpt2_parameters(
    *, n_layer: int, n_embd: int, n_positions: int, vocab_size: int = GPT2_VOCAB_SIZE
) -> int:
    """Parameters of a GPT-2 model (tied input and output embeddings)."""
    per_layer = 12 * n_embd * n_embd + 13 * n_embd  # attention, MLP, two LayerNorms, biases
    return vocab_size * n_embd + n_positions * n_embd + n_layer * per_layer + 2 * n_embd


# Built-in models are trained from scratch, so their embedding may have spare rows: padded to a
# multiple of 64 it runs faster on a GPU (see jobs.engine.constants.PADDED_VOCAB_MULTIPLE).
BUILTIN_VOCAB_SIZE = padded_vocab_size(GPT2_VOCAB_SIZE)


def seed_catalog(**kwargs: Any) -> None:
    """Create the hub and built-in rows if missing; an operator's later edits are kept, except
    that built-in rows get the current padded vocabulary (and its parameter count)."""
    order = 0
    for source, entries in (
        (BaseModel.Source.BUILTIN, BUILTIN_MODELS),
        (BaseModel.Source.HUB, HUB_MODELS),
    ):
        for key, name, n_layer, n_head, n_embd, n_positions, description in entries:
            order += 1
            shape = {
                "n_layer": n_layer,
                "n_head": n_head,
                "n_embd": n_embd,
                "n_positions": n_positions,
            }
            builtin = source == BaseModel.Source.BUILTIN
            vocab_size = BUILTIN_VOCAB_SIZE if builtin else GPT2_VOCAB_SIZE
            parameters = gpt2_parameters(
                n_layer=n_layer, n_embd=n_embd, n_positions=n_positions, vocab_size=vocab_size
            )
            row, created = BaseModel.objects.get_or_create(
                key=key,
                defaults={
                    "display_name": name,
                    "source": source,
                    "description": description,
                    "hub_id": key if source == BaseModel.Source.HUB else "",
                    "config": {**shape, "vocab_size": vocab_size} if builtin else {},
                    "parameters": parameters,
                    "layers": n_layer,
                    "hidden_size": n_embd,
                    "heads": n_head,
                    "context_length": n_positions,
                    "sort_order": order,
                },
            )
            if builtin and not created:
                _pad_vocabulary(row, vocab_size, parameters)


def _pad_vocabulary(row: BaseModel, vocab_size: int, parameters: int) -> None:
    """A built-in row seeded before vocabularies were padded gets the padded size. Jobs that
    already started keep theirs: the engine rebuilds a resumed run with its checkpoint's."""
    if (row.config or {}).get("vocab_size") == vocab_size and row.parameters == parameters:
        return
    row.config = {**(row.config or {}), "vocab_size": vocab_size}
    row.parameters = parameters
    row.save(update_fields=["config", "parameters"])


# --- Where a model's weights are ------------------------------------------------------------


def hub_local_copy(hub_id: str) -> str | None:
    """A local folder holding hub_id: the operator's BASE_MODELS_DIR first, then the HF cache."""
    folder = Path(settings.BASE_MODELS_DIR) / hub_id
    if (folder / "config.json").exists():
        return str(folder)
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(hub_id, local_files_only=True)
    except Exception:  # not cached (the hub client raises several kinds here)
        return None


_reachability: dict[str, float] = {}  # {"ok": 1.0 or 0.0, "at": monotonic seconds}


def hub_reachable(timeout: float = 2.0, ttl: float = 300) -> bool:
    """Whether the Hugging Face Hub answers, remembered for a few minutes per process."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return False
    cache = _reachability
    if cache and time.monotonic() - cache["at"] < ttl:
        return bool(cache["ok"])
    try:
        socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
        ok = True
    except OSError:
        ok = False
    cache.update(ok=ok, at=time.monotonic())
    return ok


def availability(base_model: BaseModel, *, show_paths: bool = False) -> tuple[bool, bool, str]:
    """(available_offline, available, reason when unavailable) for a catalog row. Server paths
    appear in the reason only with show_paths (for staff): other users get no server layout."""
    if base_model.source == BaseModel.Source.BUILTIN:
        return True, True, ""
    if base_model.source == BaseModel.Source.LOCAL:
        if (Path(base_model.local_path) / "config.json").exists():
            return True, True, ""
        if show_paths:
            return False, False, f"The folder {base_model.local_path} has no config.json."
        return False, False, "Its files are missing on this server; ask an operator."
    if hub_local_copy(base_model.hub_id):
        return True, True, ""
    if hub_reachable():
        return False, True, ""
    reason = (
        f"{base_model.hub_id} is not downloaded on this server and the Hugging Face Hub "
        "cannot be reached (no network access)"
    )
    if show_paths:
        folder = Path(settings.BASE_MODELS_DIR) / base_model.hub_id
        return False, False, f"{reason}: put the model in {folder}."
    return False, False, f"{reason}; ask an operator."


def model_source(
    base_model: BaseModel, parent_job: Job | None = None, checkpoint_step: int | None = None
) -> tuple[str, dict[str, Any]]:
    """What the engine loads: (model_path, model_config). model_path "" means random weights.
    A parent job's checkpoint is loaded from where jobs.training.downloads.checkpoint_model saves
    it."""
    if parent_job is not None and checkpoint_step is not None:
        return str(parent_job.checkpoint_model_dir(checkpoint_step) / "model"), {}
    if parent_job is not None:
        return str(parent_job.local_model_folder()), {}
    if base_model.source == BaseModel.Source.BUILTIN:
        return "", dict(base_model.config)
    if base_model.source == BaseModel.Source.LOCAL:
        return base_model.local_path, {}
    return hub_local_copy(base_model.hub_id) or base_model.hub_id, {}


# --- The catalog as users see it ------------------------------------------------------------


def catalog_for(user: "User") -> list[dict[str, Any]]:
    """Every entry the user can pick, catalog rows first, then the succeeded jobs they may see
    (their own, their teams', those shared with them)."""
    entries = [_row_entry(row, show_paths=user.is_staff) for row in BaseModel.objects.active()]
    jobs = Job.objects.visible_to(user).filter(status=Job.Status.SUCCEEDED).exclude(output_dir="")
    related = jobs.select_related("base_model", "dataset", "team", "owner")
    entries += [_job_entry(job, user) for job in related]
    return entries


def checkpoint_entry(user: "User", key: str | None) -> dict[str, Any] | None:
    """The catalog entry of a kept checkpoint (key job-<id>-step-<step>), or None when the key
    names none the user may train from: the wizard offers it beside the usual entries."""
    key = (key or "").strip()
    step = checkpoint_step_of(key)
    if step is None:
        return None
    try:
        _, job = _resolve_checkpoint(user, key)
    except ValidationError:
        return None
    return {
        **_job_entry(job, user),
        "key": checkpoint_key(job, step),
        "display_name": f"Job #{job.pk}: {job.name}, checkpoint at step {step}",
        "description": (
            f"The weights of job #{job.pk} ({job.get_status_display().lower()}) at step "
            f"{step} of {job.total_steps}."
        ),
        "available_offline": True,
        "available": True,
        "unavailable_reason": "",
    }


def _row_entry(row: BaseModel, *, show_paths: bool) -> dict[str, Any]:
    offline, available, reason = availability(row, show_paths=show_paths)
    shape = _shape(row)
    return {
        "key": row.key,
        "display_name": row.display_name,
        "source": row.source,
        "description": row.description,
        **shape,
        "available_offline": offline,
        "available": available,
        "unavailable_reason": reason,
        "memory_bytes": shape["parameters"] * BYTES_PER_PARAMETER_FULL,
        "job_id": None,
    }


def _job_entry(job: Job, user: "User") -> dict[str, Any]:
    assert job.base_model is not None  # the column allows None; every job names its root model
    shape = _shape(job.base_model)
    available = job.has_model()
    return {
        "key": f"job-{job.pk}",
        "display_name": f"Job #{job.pk}: {job.name}",
        "source": "job",
        "description": (
            f"{_whose(job, user)} {job.get_method_display().lower()} of "
            f"{job.base_model.display_name} on {job.dataset.name}."
        ),
        **shape,
        "available_offline": available,
        "available": available,
        "unavailable_reason": "" if available else "This job's model files are missing.",
        "memory_bytes": shape["parameters"] * BYTES_PER_PARAMETER_FULL,
        "job_id": job.pk,
    }


def _whose(job: Job, user: "User") -> str:
    if job.team is not None:
        return f"Team {job.team.name}’s"
    return "Your" if job.owner_id == user.pk else f"{job.owner.username}’s (shared)"


def _shape(row: BaseModel) -> dict[str, int]:
    """Parameters, layers, width, heads and context; a local folder's config.json fills gaps."""
    shape = {
        "parameters": row.parameters,
        "layers": row.layers,
        "hidden_size": row.hidden_size,
        "heads": row.heads,
        "context_length": row.context_length,
    }
    if row.source == BaseModel.Source.LOCAL and not row.parameters:
        shape.update(_shape_from_folder(row.local_path) or {})
    return shape


def _shape_from_folder(folder: str) -> dict[str, int] | None:
    try:
        config = json.loads((Path(folder) / "config.json").read_text())
        n_layer, n_embd, n_positions = config["n_layer"], config["n_embd"], config["n_positions"]
    except (OSError, ValueError, KeyError):
        return None
    return {
        "parameters": gpt2_parameters(
            n_layer=n_layer,
            n_embd=n_embd,
            n_positions=n_positions,
            vocab_size=config.get("vocab_size", GPT2_VOCAB_SIZE),
        ),
        "layers": n_layer,
        "hidden_size": n_embd,
        "heads": config.get("n_head", 0),
        "context_length": n_positions,
    }


def resolve_base_model(*, owner: "User", key: str | None) -> tuple[BaseModel, Job | None]:
    """(root BaseModel, parent job or None) for a catalog key; ValidationError if unusable here."""
    key = (key or "").strip()
    if key.startswith("job-"):
        return _resolve_job(owner, key)
    row = BaseModel.objects.active().filter(key=key).first()
    if row is None:
        raise unknown("base_model", f"Unknown base model {key!r}.")
    _, available, reason = availability(row, show_paths=owner.is_staff)
    if not available:
        raise ValidationError({"base_model": [reason]})
    return row, None


CHECKPOINT_KEY = re.compile(r"job-([0-9]+)-step-([0-9]+)")  # ASCII digits only


def checkpoint_key(job: Job, step: int) -> str:
    """The base-model key of a job's kept checkpoint: job-<id>-step-<step>."""
    return f"job-{job.pk}-step-{step}"


def checkpoint_step_of(key: str | None) -> int | None:
    """The step of a checkpoint key, or None for any other key."""
    match = CHECKPOINT_KEY.fullmatch((key or "").strip())
    return int(match.group(2)) if match else None


def _resolve_checkpoint(owner: "User", key: str) -> tuple[BaseModel, Job]:
    """A kept checkpoint of a job that has stopped (its checkpoints no longer change)."""
    match = CHECKPOINT_KEY.fullmatch(key)
    if match is None:  # callers pass checkpoint keys only
        raise unknown("base_model", f"Unknown base model {key!r}.")
    job_id, step = (int(g) for g in match.groups())
    job = None
    if job_id <= DB_INT_MAX and step <= DB_INT_MAX:
        job = Job.objects.visible_to(owner).select_related("base_model").filter(pk=job_id).first()
    if job is None:
        raise unknown("base_model", f"Unknown base model {key!r}.")
    if not job.is_finished:
        raise ValidationError(
            {
                "base_model": [
                    f"Job {job.pk} is {job.status}: train from its checkpoints once it has "
                    "stopped (they are pruned while it runs)."
                ]
            }
        )
    kept = {c.step: c for c in Checkpoint.objects.filter(job=job, is_final=False)}
    found = kept.get(step)
    if found is None or not files.folder_exists(found.path):
        steps = ", ".join(str(s) for s in sorted(kept)) or "none"
        raise ValidationError(
            {"base_model": [f"Job {job.pk} keeps no checkpoint at step {step} (kept: {steps})."]}
        )
    assert job.base_model is not None  # the column allows None; every job names its root model
    return job.base_model, job


def _resolve_job(owner: "User", key: str) -> tuple[BaseModel, Job]:
    if CHECKPOINT_KEY.fullmatch(key):
        return _resolve_checkpoint(owner, key)
    job_id = parse_int(key.removeprefix("job-"))
    job = None
    if job_id is not None:
        job = Job.objects.visible_to(owner).select_related("base_model").filter(pk=job_id).first()
    if job is None:
        raise unknown("base_model", f"Unknown base model {key!r}.")
    if not job.has_model():
        raise ValidationError({"base_model": [job.no_model_reason()]})
    assert job.base_model is not None  # the column allows None; every job names its root model
    return job.base_model, job
