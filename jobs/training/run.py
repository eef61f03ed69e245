"""The Django side of training: feed a claimed job to the engine and record what happens.

Imported only inside a worker's task (it imports torch). Every write is conditional on the
worker token that claimed the job, so a worker that lost its job (the reaper requeued it) stops
instead of overwriting its successor's progress.
"""

import logging
import threading
import time
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from jobs.catalog.catalog import model_source
from jobs.constants import DEFAULT_MAX_SEQ_LENGTH, GPT2_CONTEXT_LENGTH, worker_cost
from jobs.datasets.reader import format_segments, iter_examples
from jobs.models import BaseModel, Checkpoint, Job, MetricPoint
from jobs.planning.autoconfig import HYPERPARAMETERS
from jobs.training import engine, export
from jobs.training.callbacks import Callbacks

logger = logging.getLogger(__name__)

SAMPLE_PROMPTS = 3
SAMPLE_NEW_TOKENS = 30


def run_job(*, job, worker):
    """1. Read the examples as the model sees them (the dataset preview's own function).
    2. Train with callbacks that write progress, metrics, events, checkpoints and heartbeats.
    3. Stopped early: cancelled (checkpoints kept), or lost to another worker (leave it).
    4. Otherwise export the model, generate samples and mark the job succeeded."""
    cfg = build_config(job)
    callbacks = JobCallbacks(job, worker)
    with Heartbeat(job.pk, worker):
        train_examples = _examples(job.dataset)
        eval_examples = _examples(job.validation_dataset) if job.validation_dataset_id else None
        # Tokenising a large dataset takes a while before the first step: say what is happening.
        job.log(
            f"Preparing: tokenising {len(train_examples):,} examples and loading the model",
            kind="log",
        )
        result = engine.train(cfg, train_examples, eval_examples, callbacks)
        if result.stopped == "cancelled":
            kept = Checkpoint.objects.filter(job=job, is_final=False).count()
            _finish(
                job,
                worker,
                Job.Status.CANCELLED,
                f"Cancelled at step {result.step}; "
                + (
                    f"{kept} checkpoint{'s' if kept != 1 else ''} kept."
                    if kept
                    else "no checkpoint had been written yet."
                ),
                result,
            )
            return "cancelled"
        if result.stopped:
            logger.warning("job %s: %s; leaving it to its new owner", job.pk, result.stopped)
            return "lost"
        job.log("Training finished; saving the model", kind="log")
        folder = job.folder / "final"
        model = export.export_model(
            result.model,
            result.tokenizer,
            folder,
            method=job.method,
            model_card=model_card(job, result),
        )
        prompts = sample_prompts(eval_examples or train_examples)
        samples = export.generate_samples(
            model, result.tokenizer, prompts, max_new_tokens=SAMPLE_NEW_TOKENS, seed=cfg.seed
        )
        samples = [{key: _storable(text) for key, text in s.items()} for s in samples]
    _record_final_model(job, folder, result, samples)
    _finish(
        job,
        worker,
        Job.Status.SUCCEEDED,
        "Succeeded",
        result,
        output_dir=str(folder.relative_to(settings.MEDIA_ROOT)),
        samples=samples,
    )
    return "succeeded"


def _storable(text):
    # The data and the model's byte-level tokens can hold NUL, which PostgreSQL's JSON refuses.
    return text.replace("\x00", "\ufffd")


def _examples(dataset):
    return [format_segments(dataset.kind, example) for example in iter_examples(dataset)]


def build_config(job):
    """The engine's configuration from the job's resolved hyperparameters."""
    hp = job.hyperparameters
    model_path, model_config = model_source(job.base_model, job.parent_job)
    builtin = job.parent_job_id is None and job.base_model.source == BaseModel.Source.BUILTIN
    # Every hyperparameter goes to the engine as is, except max_seq_length (capped below).
    names = [name for name in HYPERPARAMETERS if name != "max_seq_length"]
    return engine.TrainConfig(
        model_path=model_path,
        model_config=model_config,
        tokenizer_path="" if builtin else model_path,
        method=job.method,
        kind=job.dataset.kind or "text",
        max_seq_length=min(
            int(hp.get("max_seq_length", DEFAULT_MAX_SEQ_LENGTH)),
            job.base_model.context_length or GPT2_CONTEXT_LENGTH,
        ),
        output_dir=str(job.folder),
        save_total_limit=settings.JOB_CHECKPOINTS_KEPT,
        **{name: hp[name] for name in names if hp.get(name) is not None},
    )


def sample_prompts(examples, count=SAMPLE_PROMPTS):
    """Short prompts from the data: the part before the first loss-carrying segment (the prompt,
    or the chat up to "Assistant: "), or the first words of a plain text."""
    prompts = []
    for segments in examples:
        head = ""
        for text, carries_loss in segments:
            if carries_loss:
                break
            head += text
        if not head.strip() and segments:
            head = " ".join(segments[0][0].split()[:8])
        head = head[-300:]
        if head.strip() and head not in prompts:
            prompts.append(head)
        if len(prompts) == count:
            break
    return prompts


def model_card(job, result):
    hp_lines = "\n".join(f"| {k} | {v} |" for k, v in sorted(job.hyperparameters.items()))
    base = job.parent_job.name if job.parent_job_id else job.base_model.display_name
    random_note = ""
    if job.base_model.source == BaseModel.Source.BUILTIN and not job.parent_job_id:
        random_note = (
            "\nThe base model started from random weights: "
            "it knows only what this data taught it.\n"
        )
    validation = (
        job.validation_dataset.name
        if job.validation_dataset_id
        else "held out automatically from the training data"
    )
    return f"""# {job.name}

Fine-tuned with LLM Tuner (job #{job.pk}) from **{base}** ({job.get_method_display()}).
{random_note}
## Data
- Training data: {job.dataset.name} ({job.dataset.get_kind_display()}, \
{job.dataset.num_examples} examples, {job.dataset.total_tokens} tokens)
- Validation: {validation} ({result.eval_rows} rows)

## Hyperparameters
| name | value |
|---|---|
{hp_lines}

## Final metrics
- Steps: {result.step}; tokens trained on: {result.tokens_seen}
- Train loss: {_fmt(result.train_loss)}; eval loss: {_fmt(result.eval_loss)}
- Training time: {result.seconds:.1f} s on {result.device} ({result.tokens_per_second:.0f} tokens/s)

## Use
```python
from transformers import AutoModelForCausalLM, AutoTokenizer
model = AutoModelForCausalLM.from_pretrained("path/to/this/folder")
tokenizer = AutoTokenizer.from_pretrained("path/to/this/folder")
```
"""


def _fmt(value):
    return "n/a" if value is None else f"{value:.4f}"


def _record_final_model(job, folder, result, samples):
    Checkpoint.objects.update_or_create(
        job=job,
        step=result.step,
        is_final=True,
        defaults={
            "path": str(folder.relative_to(settings.MEDIA_ROOT)),
            "size_bytes": export.folder_size(folder),
            "eval_loss": result.eval_loss,
        },
    )
    for sample in samples:
        job.log(f"Sample: {sample['prompt']!r} → {sample['output']!r}", kind="sample", data=sample)


def _finish(job, worker, status, message, result, **fields):
    """The end of the run: final progress, the measured figures (Job.actual) and the state."""
    kind = _device_kind(result.device)
    actual = {
        "seconds": round(result.seconds, 3),
        "tokens_per_second": round(result.tokens_per_second, 1),
        "peak_memory_bytes": result.peak_memory_bytes,
        "device": result.device,
        "device_kind": kind,
        "cost": worker_cost(result.seconds, kind, settings.WORKER_PRICES_PER_HOUR),
        "total_tokens": result.tokens_seen,
        "total_steps": result.step,
        "mfu": None if result.mfu is None else round(result.mfu, 4),
    }
    updated = Job.objects.filter(pk=job.pk, worker=worker, status=Job.Status.RUNNING).update(
        status=status,
        finished_at=timezone.now(),
        actual=actual,
        step=result.step,
        eval_loss=result.eval_loss,
        train_loss=result.train_loss,
        tokens_seen=result.tokens_seen,
        eta_seconds=0,
        heartbeat_at=timezone.now(),
        **fields,
    )
    if updated:
        job.log(message, kind="state", data={"status": status, "actual": actual})


def _device_kind(device):
    if device == "cpu":
        return "cpu" if settings.WORKER_KIND == "cuda" else settings.WORKER_KIND
    return settings.WORKER_KIND if settings.WORKER_KIND != "cpu" else "cuda"


class JobCallbacks(Callbacks):
    """Engine events to rows. Progress and the cancel check touch the database at most about
    once a second; metrics only at the log interval."""

    POLL_S = 1.0

    def __init__(self, job, worker):
        self.job, self.worker = job, worker
        self.lost = False
        self._last_progress = self._last_poll = 0.0
        self._start_step = 0

    def _mine(self):
        return Job.objects.filter(pk=self.job.pk, worker=self.worker, status=Job.Status.RUNNING)

    def on_start(self, info):
        self._start_step = info["start_step"]
        self._mine().update(
            total_steps=info["total_steps"],
            step=info["start_step"],
            device=info["device"],
            heartbeat_at=timezone.now(),
        )
        if info["resumed_from"] is not None:
            # The points logged after that checkpoint by the dead worker are replayed now.
            MetricPoint.objects.filter(job=self.job, step__gt=info["resumed_from"]).delete()
            self.job.log(
                f"Resumed from the checkpoint at step {info['resumed_from']}",
                kind="state",
                data=info,
            )
        self.job.log(
            f"Training started on {info['device']}: {info['train_rows']} training rows, "
            f"{info['eval_rows']} validation rows, {info['total_steps']} steps",
            kind="log",
            data=info,
        )

    def on_step(self, progress):
        now = time.monotonic()
        if now - self._last_progress < self.POLL_S and progress["step"] < progress["total_steps"]:
            return
        self._last_progress = now
        done = progress["step"] - self._start_step
        remaining = progress["total_steps"] - progress["step"]
        eta = progress["elapsed_seconds"] / max(progress["step"], 1) * remaining if done else None
        if not self._mine().update(
            step=progress["step"],
            epoch=progress["epoch"],
            tokens_seen=progress["tokens_seen"],
            eta_seconds=eta,
            heartbeat_at=timezone.now(),
        ):
            self.lost = True

    def on_log(self, metrics):
        MetricPoint.objects.create(job=self.job, **metrics)
        self._mine().update(
            train_loss=metrics["train_loss"], tokens_per_second=metrics["tokens_per_second"]
        )

    def on_evaluate(self, step, eval_loss, epoch):
        MetricPoint.objects.create(job=self.job, step=step, epoch=epoch, eval_loss=eval_loss)
        self._mine().update(eval_loss=eval_loss)
        self.job.log(
            f"Evaluation at step {step}: eval loss {_fmt(eval_loss)}",
            kind="eval",
            data={"step": step, "eval_loss": eval_loss},
        )

    def on_checkpoint(self, step, path, size_bytes, eval_loss):
        relative = str(Path(path).relative_to(settings.MEDIA_ROOT))
        Checkpoint.objects.update_or_create(
            job=self.job,
            step=step,
            is_final=False,
            defaults={"path": relative, "size_bytes": size_bytes, "eval_loss": eval_loss},
        )
        self.job.log(
            f"Checkpoint saved at step {step} ({size_bytes / 2**20:.1f} MB)",
            kind="checkpoint",
            data={"step": step, "size_bytes": size_bytes, "eval_loss": eval_loss},
        )

    def on_checkpoint_removed(self, step, path):
        Checkpoint.objects.filter(job=self.job, step=step, is_final=False).delete()
        self.job.log(
            f"Removed the checkpoint at step {step}: only the newest "
            f"{settings.JOB_CHECKPOINTS_KEPT} are kept",
            kind="checkpoint",
            data={"step": step, "removed": True},
        )

    def on_warning(self, message):
        self.job.log(message, level="warning", kind="warning")

    def should_stop(self):
        if self.lost:
            return "lost to another worker"
        now = time.monotonic()
        if now - self._last_poll < self.POLL_S:
            return None
        self._last_poll = now
        row = (
            Job.objects.filter(pk=self.job.pk)
            .values("status", "worker", "cancel_requested")
            .first()
        )
        if row is None or row["worker"] != self.worker or row["status"] != Job.Status.RUNNING:
            return "lost to another worker"
        return "cancelled" if row["cancel_requested"] else None


class Heartbeat:
    """A thread that keeps heartbeat_at fresh while a long step (or model loading) runs."""

    def __init__(self, job_id, worker):
        self.job_id, self.worker = job_id, worker
        self.interval = max(1.0, settings.JOB_HEARTBEAT_TIMEOUT_S / 4)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"heartbeat-job-{job_id}", daemon=True
        )

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self):
        try:
            while not self._stop.wait(self.interval):
                try:
                    close_old_connections()
                    Job.objects.filter(
                        pk=self.job_id, worker=self.worker, status=Job.Status.RUNNING
                    ).update(heartbeat_at=timezone.now())
                except Exception:  # a busy database must not kill the job; the next beat retries
                    logger.warning("job %s: heartbeat failed", self.job_id, exc_info=True)
        finally:
            connection.close()
