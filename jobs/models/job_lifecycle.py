"""A job's lifecycle: every change of its state, each one conditional UPDATE with its event.

Job (jobs/models/job.py) inherits these methods. Each transition updates the row only if it is
still in the state its caller read (and, where a worker acts, still that worker's), so of two
processes racing for one job only one wins; each returns whether it took (the requeues return
the new status, or None) and, when it took, writes one JobEvent of kind "state" and sends
`job_state_changed`.
"""

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.dispatch import Signal
from django.utils import timezone

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from django.db.models import Manager, QuerySet

    from jobs.models.records import JobEvent


# Sent once for every change of a job's state, right after its state event is written (inside
# the caller's transaction): job=the job as it is now, status=its new state. Notifications
# (jobs.notifications.events) listen; nothing else may act on a state change behind _move.
job_state_changed = Signal()


class JobStatus(models.TextChoices):
    """A job's states (Job.Status): queued → running → succeeded | failed | cancelled, and
    paused, which resumes to queued."""

    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class JobLifecycle:
    """The state transitions of a Job (mixed into the model; uses its fields and `log`)."""

    Status = JobStatus

    if TYPE_CHECKING:
        # What these methods use of Job (jobs/models/job.py), declared for mypy only.
        objects: Manager[Any]
        pk: int
        status: str
        worker: str
        cancel_requested: bool
        pause_requested: bool
        heartbeat_at: datetime | None
        queued_at: datetime
        restart_count: int

        @property
        def is_finished(self) -> bool: ...

        def log(
            self,
            message: str,
            *,
            level: str = ...,
            kind: str = ...,
            data: dict[str, Any] | None = ...,
        ) -> JobEvent: ...

        def refresh_from_db(
            self,
            using: str | None = None,
            fields: Iterable[str] | None = None,
            from_queryset: QuerySet[Any] | None = None,
        ) -> None: ...

    def _move(
        self,
        read: dict[str, Any],
        status: str,
        message: str,
        *,
        level: str = "info",
        data: dict[str, Any] | None = None,
        **fields: Any,
    ) -> bool:
        """The one way a job changes state: one UPDATE conditional on `read` (the state the
        caller saw), then, if it took, one state event. Returns whether it took."""
        took = type(self).objects.filter(pk=self.pk, **read).update(status=status, **fields)
        if took:
            self.refresh_from_db(fields=["status", *fields])
            self.log(message, level=level, kind="state", data={"status": status, **(data or {})})
            job_state_changed.send(sender=type(self), job=self, status=status)
        return bool(took)

    def _owned_by(self, worker: str) -> dict[str, str]:
        return {"status": self.Status.RUNNING, "worker": worker}

    def claim(self, worker: str) -> bool:
        """queued -> running for `worker`, unless a cancel was asked for or someone else has it."""
        now = timezone.now()
        return self._move(
            {"status": self.Status.QUEUED, "cancel_requested": False},
            self.Status.RUNNING,
            f"Running on worker {worker}",
            data={"worker": worker},
            worker=worker,
            heartbeat_at=now,
            started_at=Coalesce("started_at", Value(now)),
            error="",
        )

    def heartbeat(self, worker: str) -> bool:
        """`worker` is alive and still running this job; False once it no longer owns it."""
        return self.record_progress(worker)

    def record_progress(self, worker: str, **fields: Any) -> bool:
        """Progress figures (step, losses, ETA, device...) with a fresh heartbeat, written only
        while `worker` owns the running job: False tells a worker that lost it to stop."""
        owned = type(self).objects.filter(pk=self.pk, **self._owned_by(worker))
        return bool(owned.update(heartbeat_at=timezone.now(), **fields))

    def stop_reason(self, worker: str) -> str | None:
        """Read afresh: why `worker` should stop ("cancelled", "paused", "lost to another
        worker"), or None to go on."""
        fields = ("status", "worker", "cancel_requested", "pause_requested")
        row = type(self).objects.filter(pk=self.pk).values(*fields).first()
        if row is None or row["worker"] != worker or row["status"] != self.Status.RUNNING:
            return "lost to another worker"
        if row["cancel_requested"]:
            return "cancelled"
        return "paused" if row["pause_requested"] else None

    def finish(
        self, worker: str, status: str, message: str, *, actual: dict[str, Any], **fields: Any
    ) -> bool:
        """running -> succeeded or cancelled at the end of `worker`'s run, with the measured
        figures (`actual`) and the final progress (`fields`)."""
        if status not in (self.Status.SUCCEEDED, self.Status.CANCELLED):
            raise ValueError(f"A run finishes succeeded or cancelled, not {status!r}: use fail().")
        now = timezone.now()
        return self._move(
            self._owned_by(worker),
            status,
            message,
            data={"actual": actual},
            actual=actual,
            finished_at=now,
            heartbeat_at=now,
            eta_seconds=0,
            **fields,
        )

    def fail(self, worker: str, reason: str, details: str = "") -> bool:
        """running -> failed while `worker` owns the job; `details` (a traceback) is logged."""
        return self._move(
            self._owned_by(worker),
            self.Status.FAILED,
            f"Failed: {reason}",
            level="error",
            data={"traceback": details},
            error=reason,
            finished_at=timezone.now(),
        )

    def request_cancel(self) -> bool:
        """As the state read allows: a queued job is cancelled at once; a running one is asked
        to stop (its worker checks about once a second and keeps its checkpoints). A finished
        job is refused. False: the job moved meanwhile; read it again before asking again."""
        if self.is_finished:
            reason = f"Job {self.pk} has already {self.status}: there is nothing to cancel."
            raise ValidationError({"status": [reason]})
        if self.status == self.Status.PAUSED:
            return self._move(
                {"status": self.Status.PAUSED},
                self.Status.CANCELLED,
                "Cancelled while paused; checkpoints are kept",
                cancel_requested=True,
                finished_at=timezone.now(),
            )
        if self.status == self.Status.QUEUED:
            return self._move(
                {"status": self.Status.QUEUED},
                self.Status.CANCELLED,
                "Cancelled before it started",
                cancel_requested=True,
                finished_at=timezone.now(),
            )
        running = {"status": self.Status.RUNNING, "cancel_requested": False}
        if not type(self).objects.filter(pk=self.pk, **running).update(cancel_requested=True):
            return False
        self.cancel_requested = True
        self.log("Cancel requested: stopping after the current step", kind="state")
        return True

    def request_pause(self) -> bool:
        """As the state read allows: a queued job is paused at once; a running one is asked to
        write a checkpoint and stop (its worker checks about once a second, then calls hold).
        A finished or already paused job is refused. False: the job moved meanwhile."""
        if self.is_finished or self.status == self.Status.PAUSED:
            verb = "is already paused" if self.status == self.Status.PAUSED else f"{self.status}"
            reason = f"Job {self.pk} {verb}: there is nothing to pause."
            raise ValidationError({"status": [reason]})
        if self.status == self.Status.QUEUED:
            read = {"status": self.Status.QUEUED, "cancel_requested": False}
            return self._move(read, self.Status.PAUSED, "Paused before it started")
        running = {"status": self.Status.RUNNING, "cancel_requested": False}
        if (
            not type(self)
            .objects.filter(pk=self.pk, pause_requested=False, **running)
            .update(pause_requested=True)
        ):
            return False
        self.pause_requested = True
        self.log("Pause requested: writing a checkpoint, then stopping", kind="state")
        return True

    def hold(self, worker: str, message: str, **fields: Any) -> bool:
        """running -> paused at the end of `worker`'s run that stopped for a pause; the newest
        checkpoint is where resume continues."""
        return self._move(
            self._owned_by(worker),
            self.Status.PAUSED,
            message,
            pause_requested=False,
            worker="",
            eta_seconds=None,
            tokens_per_second=None,
            **fields,
        )

    def resume(self) -> bool:
        """paused -> queued (its caller enqueues a task); the run continues from the newest
        checkpoint. A job that is not paused is refused with the reason."""
        if self.status != self.Status.PAUSED:
            reason = f"Job {self.pk} is {self.status}: only a paused job can be resumed."
            raise ValidationError({"status": [reason]})
        return self._move(
            {"status": self.Status.PAUSED},
            self.Status.QUEUED,
            "Resumed: queued to continue from its newest checkpoint",
            pause_requested=False,
            queued_at=timezone.now(),
        )

    def requeue_for_dead_worker(self) -> str | None:
        """A running job whose heartbeat stopped (see JobQuerySet.stale): its worker died.
        Cancelled if a cancel was asked for, else queued again to resume from its newest
        checkpoint, or failed past JOB_MAX_RESTARTS. Conditional on the heartbeat read, so a
        worker that just beat keeps its job. Returns the new status, or None if it did not take."""
        read = {"status": self.Status.RUNNING, "heartbeat_at": self.heartbeat_at}
        lost = (
            f"The worker {self.worker} stopped responding "
            f"(no heartbeat since {self.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC)"
        )
        if self.cancel_requested:
            message = f"{lost}; cancelled as requested. Checkpoints are kept."
            took = self._move(read, self.Status.CANCELLED, message, finished_at=timezone.now())
            return self.status if took else None
        if self.pause_requested:
            message = f"{lost}; paused as requested, from its newest checkpoint."
            took = self._move(read, self.Status.PAUSED, message, pause_requested=False, worker="")
            return self.status if took else None
        # A cancel asked for since the read must not ride along into the queue, where nothing
        # claims a job with cancel_requested: the next reaper run cancels the job instead.
        return self._requeue_or_fail(
            {**read, "cancel_requested": False},
            why=lost,
            requeued="queued again to resume from its newest checkpoint",
            worker="",
        )

    def preempt(self, worker: str, message: str, **fields: Any) -> bool:
        """running -> queued when `worker` is being stopped (SIGTERM: spot capacity reclaimed, a
        deploy) after writing a checkpoint; another worker continues from it. Not a restart:
        JOB_MAX_RESTARTS counts deaths, not orderly stops. A cancel asked for meanwhile wins."""
        if type(self).objects.filter(pk=self.pk, cancel_requested=True).exists():
            return self._move(
                self._owned_by(worker),
                self.Status.CANCELLED,
                f"{message}; cancelled as requested. Checkpoints are kept.",
                finished_at=timezone.now(),
                **fields,
            )
        return self._move(
            {**self._owned_by(worker), "cancel_requested": False},
            self.Status.QUEUED,
            f"{message}; preempted; requeued",
            level="warning",
            worker="",
            pause_requested=False,
            eta_seconds=None,
            tokens_per_second=None,
            queued_at=timezone.now(),
            preempt_count=F("preempt_count") + 1,
            **fields,
        )

    def stall(self, worker: str, seconds: float) -> str | None:
        """A run of `worker` that made no step for `seconds` (JOB_STALL_TIMEOUT_S) while its
        heartbeat thread lived: requeued as a restart, or failed past JOB_MAX_RESTARTS."""
        why = f"No training step for {seconds} s (JOB_STALL_TIMEOUT_S) on worker {worker}"
        return self._requeue_or_fail(
            {**self._owned_by(worker), "cancel_requested": False},
            why=why,
            requeued="queued again to resume from its newest checkpoint",
            worker="",
        )

    def requeue_lost_task(self) -> str | None:
        """A queued job whose task left the queue without running it: queued again (its caller
        enqueues a new task), or failed past JOB_MAX_RESTARTS. Conditional on when it was
        queued and its restarts as read, so two reapers at once handle it once. Returns the new
        status, or None if it did not take."""
        read = {
            "status": self.Status.QUEUED,
            "cancel_requested": False,
            "queued_at": self.queued_at,
            "restart_count": self.restart_count,
        }
        why = "Its task left the queue without running it"
        return self._requeue_or_fail(read, why=why, requeued="queued again")

    def _requeue_or_fail(
        self, read: dict[str, Any], *, why: str, requeued: str, **fields: Any
    ) -> str | None:
        # `why` starts both the log line and, past the limit, the reason the job failed.
        restarts, limit = self.restart_count, settings.JOB_MAX_RESTARTS
        if restarts >= limit:
            reason = f"{why}, and the job already restarted {restarts} times (the limit)."
            took = self._move(
                read,
                self.Status.FAILED,
                f"Failed: {reason}",
                level="error",
                error=reason,
                finished_at=timezone.now(),
            )
        else:
            took = self._move(
                read,
                self.Status.QUEUED,
                f"{why}; {requeued} (restart {restarts + 1} of {limit}).",
                level="warning",
                restart_count=F("restart_count") + 1,
                queued_at=timezone.now(),
                **fields,
            )
        return self.status if took else None
