"""What a training run writes about its job while it runs and when it ends: the engine's
callbacks turned into rows (progress, metrics, events, checkpoints), a heartbeat thread, and the
measured figures of a finished run.

Every write about the job itself goes through its lifecycle methods with this worker's token
(jobs.models: record_progress, heartbeat, finish), so a worker that lost its job (the reaper
requeued it) stops instead of overwriting its successor's progress.
"""

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

from django.conf import settings
from django.db import close_old_connections, connection

from jobs.engine.callbacks import Callbacks
from jobs.engine.constants import worker_cost
from jobs.fleet import services as fleet
from jobs.models import Checkpoint, Job, MetricPoint
from jobs.storage import files
from jobs.training.card import format_loss

if TYPE_CHECKING:
    from jobs.engine.config import TrainResult

logger = logging.getLogger(__name__)


def finish_run(
    job: Job,
    worker: str,
    status: str,  # a Job.Status value
    message: str,
    result: "TrainResult",
    **fields: Any,
) -> bool:
    """The end of the run: final progress, the measured figures (Job.actual) and the state.
    Returns whether it took (False: this worker no longer owns the job)."""
    kind = _device_kind(result.device)
    actual = {
        "seconds": round(result.seconds, 3),
        "tokens_per_second": round(result.tokens_per_second, 1),
        "peak_memory_bytes": result.peak_memory_bytes,
        "device": result.device,
        "device_kind": kind,
        # What the worker ran in (it decides an auto-chosen CPU precision from its own CPU).
        "precision": result.precision,
        "num_threads": result.num_threads or None,
        "cost": worker_cost(result.seconds, kind, settings.WORKER_PRICES_PER_HOUR),
        "total_tokens": result.tokens_seen,
        "total_steps": result.step,
        "mfu": None if result.mfu is None else round(result.mfu, 4),
        "best_step": result.best_step,
        "best_eval_loss": result.best_eval_loss,
        "exported_step": result.exported_step,
        "early_stopped": result.early_stopped,
        # The final figures; eval ones from the full validation pass at the end.
        "train_accuracy": _rounded(result.train_accuracy),
        "eval_accuracy": _rounded(result.eval_accuracy),
        "eval_perplexity": _rounded(result.eval_perplexity),
    }
    return job.finish(
        worker,
        status,
        message,
        actual=actual,
        step=result.step,
        eval_loss=result.eval_loss,
        train_loss=result.train_loss,
        tokens_seen=result.tokens_seen,
        **fields,
    )


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _device_kind(device: str) -> str:
    # The kind prices are kept for: the worker's configured kind, except that a CUDA worker
    # whose run fell back to the CPU counts as a CPU, and a "cpu" worker that used a GPU as cuda.
    if device == "cpu":
        return "cpu" if settings.WORKER_KIND == "cuda" else settings.WORKER_KIND
    return settings.WORKER_KIND if settings.WORKER_KIND != "cpu" else "cuda"


class JobCallbacks(Callbacks):
    """Engine events to rows. Progress and the cancel check touch the database at most about
    once a second; metrics only at the log interval."""

    POLL_S = 1.0

    def __init__(
        self, job: Job, worker: str, *, stopping: Callable[[], bool] | None = None
    ) -> None:
        self.job, self.worker = job, worker
        self.lost = False
        self.preempt_requested = False  # set by the SIGTERM handler (jobs.training.run)
        self._stopping = stopping  # its qcluster was told to stop (the registry says so)
        self._last_progress = self._last_poll = 0.0
        self._start_step = 0
        self._tokenised_tenth = 0  # the last tenth of the examples reported as tokenised
        self.last_step_at = time.monotonic()  # the heartbeat thread watches it for stalls

    def on_start(self, info: dict[str, Any]) -> None:
        self._start_step = info["start_step"]
        self.job.record_progress(
            self.worker,
            total_steps=info["total_steps"],
            step=info["start_step"],
            device=info["device"],
        )
        if info["resumed_from"] is not None:
            # The points logged after that checkpoint by the dead worker are replayed now.
            MetricPoint.objects.filter(job=self.job, step__gt=info["resumed_from"]).delete()
            self.job.log(
                f"Resumed from the checkpoint at step {info['resumed_from']}",
                kind="state",
                data=info,
            )
        how = [info["precision"]]
        if info.get("num_threads"):
            how.append(f"{info['num_threads']} thread{'s' if info['num_threads'] > 1 else ''}")
        self.job.log(
            f"Training started on {info['device']} ({', '.join(how)}): {info['train_rows']} "
            f"training rows, {info['eval_rows']} validation rows, {info['total_steps']} steps",
            kind="log",
            data=info,
        )

    def on_tokenise(self, progress: dict[str, Any]) -> None:
        """A log line at each tenth of the examples ("Tokenised 40% of 1,200,000 training
        examples"), and one when a split is ready."""
        split, done, total = progress["split"], progress["done"], progress["total"]
        if progress.get("end"):
            source = "read from this worker's cache" if progress["cached"] else "tokenised"
            self.job.log(f"{split.capitalize()} data {source}: {done:,} examples", kind="log")
            self._tokenised_tenth = 0
            return
        tenth = done * 10 // total if total else 0
        if self._tokenised_tenth < tenth < 10:
            self._tokenised_tenth = tenth
            self.job.log(f"Tokenised {tenth * 10}% of {total:,} {split} examples", kind="log")

    def on_step(self, progress: dict[str, Any]) -> None:
        now = time.monotonic()
        self.last_step_at = now
        if now - self._last_progress < self.POLL_S and progress["step"] < progress["total_steps"]:
            return
        self._last_progress = now
        done = progress["step"] - self._start_step
        remaining = progress["total_steps"] - progress["step"]
        eta = progress["elapsed_seconds"] / max(progress["step"], 1) * remaining if done else None
        if not self.job.record_progress(
            self.worker,
            step=progress["step"],
            epoch=progress["epoch"],
            tokens_seen=progress["tokens_seen"],
            eta_seconds=eta,
        ):
            self.lost = True

    def on_log(self, metrics: dict[str, Any]) -> None:
        MetricPoint.objects.create(job=self.job, **metrics)
        self.job.record_progress(
            self.worker,
            train_loss=metrics["train_loss"],
            tokens_per_second=metrics["tokens_per_second"],
        )

    def on_evaluate(
        self,
        step: int,
        eval_loss: float | None,
        epoch: float,
        metrics: dict[str, float | None] | None = None,
    ) -> None:
        metrics = metrics or {}
        MetricPoint.objects.create(
            job=self.job, step=step, epoch=epoch, eval_loss=eval_loss, **metrics
        )
        self.job.record_progress(self.worker, eval_loss=eval_loss)
        message = f"Evaluation at step {step}: eval loss {format_loss(eval_loss)}"
        if metrics.get("eval_accuracy") is not None:
            message += f", token accuracy {metrics['eval_accuracy']:.1%}"
        if metrics.get("eval_perplexity") is not None:
            message += f", perplexity {metrics['eval_perplexity']:.2f}"
        self.job.log(
            message,
            kind="eval",
            data={"step": step, "eval_loss": eval_loss, **metrics},
        )

    def on_checkpoint(self, step: int, path: str, size_bytes: int, eval_loss: float | None) -> None:
        # Uploaded completely (with a store) before the row says it exists.
        relative = files.publish_folder(path)
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

    def on_checkpoint_removed(self, step: int, path: str) -> None:
        files.remove_folder(files.key_of(path))
        Checkpoint.objects.filter(job=self.job, step=step, is_final=False).delete()
        self.job.log(
            f"Removed the checkpoint at step {step}: only the newest "
            f"{settings.JOB_CHECKPOINTS_KEPT} and the best are kept",
            kind="checkpoint",
            data={"step": step, "removed": True},
        )

    def on_warning(self, message: str) -> None:
        self.job.log(message, level="warning", kind="warning")

    def should_stop(self) -> str | None:
        if self.lost:
            return "lost to another worker"
        if self.preempt_requested:
            return "preempted"
        now = time.monotonic()
        if now - self._last_poll < self.POLL_S:
            return None
        self._last_poll = now
        reason = self.job.stop_reason(self.worker)
        if reason is None and self._stopping is not None and self._stopping():
            return "preempted"
        return reason


class Heartbeat:
    """A thread that keeps the job's heartbeat fresh while a long step (or model loading) runs,
    so the reaper does not take a live worker for a dead one."""

    def __init__(
        self,
        job: Job,
        worker: str,
        *,
        callbacks: JobCallbacks | None = None,
        on_stall: Callable[[], object] | None = None,
    ) -> None:
        self.job, self.worker = job, worker
        self.callbacks, self.on_stall = callbacks, on_stall
        self.interval = max(1.0, settings.JOB_HEARTBEAT_TIMEOUT_S / 4)
        if settings.JOB_STALL_TIMEOUT_S:
            self.interval = min(self.interval, max(1.0, settings.JOB_STALL_TIMEOUT_S / 4))
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"heartbeat-job-{job.pk}", daemon=True
        )

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    close_old_connections()
                    self.job.heartbeat(self.worker)
                    self._check_stall()
                except Exception:  # a busy database must not kill the job; the next beat retries
                    logger.warning("job %s: heartbeat failed", self.job.pk, exc_info=True)
        finally:
            connection.close()

    def _check_stall(self) -> None:
        """The loop made no step for JOB_STALL_TIMEOUT_S though this thread lives (a hung
        collective, a deadlocked data loader): the job is requeued (or failed past
        JOB_MAX_RESTARTS) with the reason, and this process ends, as its loop cannot be
        stopped from here."""
        limit = settings.JOB_STALL_TIMEOUT_S
        if not limit or self.callbacks is None:
            return
        if time.monotonic() - self.callbacks.last_step_at < limit:
            return
        logger.error("job %s: no step for %s s; stopping this process", self.job.pk, limit)
        outcome = self.job.stall(self.worker, limit)
        if outcome == "queued" and self.on_stall is not None:
            self.on_stall()
        fleet.worker_running(job_id=None)  # so its qcluster takes tickets again
        connection.close()
        os._exit(70)
