"""Builders for the portal and API tests: real datasets, job rows in any state, a tiny model."""

from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from jobs.datasets.services import dataset_create
from jobs.models import BaseModel, Checkpoint, Job, JobEvent, MetricPoint

LINES = (
    "\n\n".join(f"The quick brown fox number {i} jumps over the lazy dog." for i in range(40))
    + "\n"
)


def make_dataset(owner, name="Fox lines"):
    return dataset_create(
        owner=owner, upload=SimpleUploadedFile("fox.txt", LINES.encode()), name=name
    )


def make_job(owner, dataset=None, **fields):
    """A job row in whatever state the test needs, without running the engine."""
    dataset = dataset or make_dataset(owner)
    values = {
        "name": "Fox job",
        "base_model": BaseModel.objects.get(key="builtin-tiny"),
        "method": Job.Method.FULL,
        "hyperparameters": {"learning_rate": 0.001, "epochs": 1, "batch_size": 8},
        "total_steps": 10,
        **fields,
    }
    if values.get("status") in Job.FINISHED:
        values.setdefault("started_at", timezone.now() - timezone.timedelta(seconds=30))
        values.setdefault("finished_at", timezone.now())
    return Job.objects.create(owner=owner, dataset=dataset, **values)


def add_history(job, *, steps=5):
    """Metric points, log lines and a checkpoint as the worker would write them."""
    for step in range(1, steps + 1):
        MetricPoint.objects.create(
            job=job, step=step, train_loss=5.0 - step * 0.5, learning_rate=1e-3
        )
    MetricPoint.objects.create(job=job, step=steps, eval_loss=3.1)
    events = [JobEvent.objects.create(job=job, message=f"line {i}") for i in range(3)]
    checkpoint = Checkpoint.objects.create(
        job=job, step=steps, path="x", size_bytes=2048, eval_loss=3.1
    )
    return events, checkpoint


def give_tiny_model(job):
    """Save a tiny random GPT-2 where a succeeded job keeps its model, and mark it succeeded."""
    from transformers import GPT2Config, GPT2LMHeadModel

    from jobs.engine.tokenizer import gpt2_tokenizer

    job.output_dir = f"jobs/{job.pk}/final"
    folder = Path(settings.MEDIA_ROOT) / job.output_dir / "model"
    config = GPT2Config(n_layer=1, n_head=2, n_embd=32, n_positions=128)
    GPT2LMHeadModel(config).save_pretrained(folder)
    gpt2_tokenizer().save_pretrained(folder)
    job.status = Job.Status.SUCCEEDED
    job.started_at = job.started_at or timezone.now()
    job.finished_at = timezone.now()
    job.save(update_fields=["output_dir", "status", "started_at", "finished_at"])
    return folder
