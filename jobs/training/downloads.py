"""The files people download from a job: its model as a zip, GGUF or Ollama Modelfile, and a
kept checkpoint saved as a model. The worker builds a job's zip when the job ends; a
checkpoint's model is made the first time it is asked for (it loads the base model: torch).
"""

from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError

from jobs.engine import archive
from jobs.storage import files

if TYPE_CHECKING:
    from jobs.models import Checkpoint, Job

MODEL_FORMATS = ("zip", "gguf", "modelfile")
GGUF_QUANTS = ("f16", "q8_0")


def job_model_file(
    *, job: "Job", file_format: str = "zip", quant: str = "q8_0"
) -> tuple[str | Path, str, str]:
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


def job_model_zip(*, job: "Job") -> str | Path:
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


def checkpoint_find(*, job: "Job", step: int) -> "Checkpoint":
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


def checkpoint_model(*, job: "Job", step: int) -> Path:
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


def checkpoint_model_zip(*, job: "Job", step: int) -> Path:
    """A zip of the checkpoint at `step` saved as a model, built once."""
    folder = checkpoint_model(job=job, step=step)
    target = folder.with_name(f"{folder.name}.zip")
    return target if target.exists() else archive.zip_folder(folder, target)
