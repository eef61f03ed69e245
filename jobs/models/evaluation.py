"""An evaluation: one model × one evaluation dataset × a generation setting, run by the workers
like a job, with a row per example scored.

Its states are a job's (queued → running → succeeded | failed | cancelled), each change one
conditional UPDATE with its event, as for jobs (jobs/models/job_lifecycle.py). The claim a free
worker makes is fair across jobs and evaluations together: a user's running jobs and running
evaluations count the same (EvaluationQuerySet.claim_next, JobQuerySet.claim_next).
"""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Self

from django.conf import settings
from django.db import connection, models
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone

from accounts.teams.models import Membership
from jobs.models.base_model import BaseModel
from jobs.models.dataset import Dataset
from jobs.models.job_lifecycle import JobStatus

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

# Sent once for every change of an evaluation's state, after its event is written (inside the
# caller's transaction): evaluation=the evaluation as it is now, status=its new state.
evaluation_state_changed = Signal()

EvaluationStatus = JobStatus  # the same names; an evaluation is never paused


class EvaluationQuerySet(models.QuerySet["Evaluation"]):
    def visible_to(self, user: "User | AnonymousUser") -> Self:
        """The user's own evaluations and those of every team they are in (the one "visible
        to" rule; jobs.sharing.access has the "may change" check)."""
        if not user.is_authenticated:
            return self.none()
        teams = Membership.objects.team_ids(user, lazy=False)
        return self.filter(Q(owner=user) | Q(team__in=teams))

    def active(self) -> Self:
        return self.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING])

    def stale(self, *, seconds: float | None = None) -> Self:
        seconds = seconds or settings.JOB_HEARTBEAT_TIMEOUT_S
        cutoff = timezone.now() - timedelta(seconds=seconds)
        return self.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff)

    def create_queued(self, **fields: Any) -> "Evaluation":
        evaluation = self.create(status=JobStatus.QUEUED, **fields)
        evaluation.log("Queued")
        evaluation_state_changed.send(
            sender=self.model, evaluation=evaluation, status=JobStatus.QUEUED
        )
        return evaluation

    def claim_next(self, pool: str, worker: str) -> "Evaluation | None":
        """The fairest queued evaluation of `pool`, now running for `worker`, or None.

        Fair share with jobs: the evaluation of the user with the fewest running jobs and
        evaluations in the pool, oldest first; a user already running USER_MAX_RUNNING_JOBS
        jobs and evaluations together waits. Locked with SKIP LOCKED on PostgreSQL, as
        JobQuerySet.claim_next is."""
        table = self.model._meta.db_table
        lock = " FOR UPDATE OF e SKIP LOCKED" if connection.vendor == "postgresql" else ""
        now = timezone.now()
        running, queued = JobStatus.RUNNING, JobStatus.QUEUED
        sql = f"""
            UPDATE {table} SET status = %s, worker = %s, heartbeat_at = %s,
                started_at = COALESCE(started_at, %s), error = ''
            WHERE id = (
                SELECT e.id FROM {table} e
                LEFT JOIN ({running_by_owner_sql()}) r ON r.owner_id = e.owner_id
                WHERE e.status = %s AND e.pool = %s AND NOT e.cancel_requested
                  AND COALESCE(r.total, 0) < %s
                ORDER BY COALESCE(r.in_pool, 0), e.created_at, e.id
                LIMIT 1{lock}
            ) AND status = %s
            RETURNING id"""
        params: list[str | int | datetime] = [running, worker, now, now, pool, running]
        params += [pool, running, queued, pool, settings.USER_MAX_RUNNING_JOBS, queued]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        evaluation = self.get(pk=row[0])
        evaluation.log(f"Running on worker {worker}")
        evaluation_state_changed.send(sender=self.model, evaluation=evaluation, status=running)
        return evaluation


def running_by_owner_sql() -> str:
    """SQL of each owner's running jobs and evaluations: (owner_id, total, in_pool), taking
    two parameters per table, the pool then the running status. What both claims count."""
    parts = [
        f"SELECT owner_id, CASE WHEN pool = %s THEN 1 ELSE 0 END AS in_pool FROM {table} "
        "WHERE status = %s"
        for table in ("jobs_job", "jobs_evaluation")
    ]
    union = " UNION ALL ".join(parts)
    return (
        f"SELECT owner_id, COUNT(*) AS total, SUM(in_pool) AS in_pool FROM ({union}) u "
        "GROUP BY owner_id"
    )


class Evaluation(models.Model):
    Status = EvaluationStatus
    FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)

    class Role(models.TextChoices):
        MANUAL = "manual", "Asked for"
        TUNED = "tuned", "A job's model, after training"
        BASE = "base", "A job's base model, for comparison"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="evaluations"
    )
    team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="evaluations",
    )
    # The model reference as given: a catalog key, job-<id> or job-<id>-step-<n>.
    model = models.CharField(max_length=200)
    model_label = models.CharField(max_length=300, blank=True)  # as the pages name it
    model_job = models.ForeignKey(
        "jobs.Job",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="model_evaluations",
        help_text="The job whose model (or kept checkpoint) is evaluated",
    )
    checkpoint_step = models.IntegerField(null=True, blank=True)
    base_model = models.ForeignKey(
        BaseModel, on_delete=models.SET_NULL, null=True, blank=True, related_name="evaluations"
    )
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="evaluations")
    # Set for the automatic evaluations of a finished job (its model and its base model).
    source_job = models.ForeignKey(
        "jobs.Job",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="evaluations",
    )
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.MANUAL)
    # Which examples: "all" of the dataset, or "held_out" (the part a job held out for validation)
    split = models.CharField(max_length=12, default="all")
    metrics = models.JSONField(default=list)  # names from jobs.evaluations.metrics.METRICS
    regex = models.CharField(max_length=500, blank=True)
    ignore_case_and_space = models.BooleanField(default=False)
    max_examples = models.IntegerField(default=0)  # examples asked for (0: all)
    # {"max_new_tokens", "temperature", "top_p", "seed", "batch_size"}, every value resolved
    generation = models.JSONField(default=dict)

    status = models.CharField(
        max_length=12, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    pool = models.CharField(max_length=64, default="cpu")
    cancel_requested = models.BooleanField(default=False)
    examples_done = models.IntegerField(default=0)
    examples_total = models.IntegerField(default=0)
    eta_seconds = models.FloatField(null=True, blank=True)
    estimate = models.JSONField(default=dict, blank=True)  # seconds, memory, cost, pool...
    actual = models.JSONField(default=dict, blank=True)
    # {metric: {"value", "ci_low", "ci_high", "n"}}
    summary = models.JSONField(default=dict, blank=True)
    # The job's fixed sample prompts answered at each kept checkpoint (tuned auto-evaluation):
    # {"prompts": [...], "steps": [{"step": n, "final": bool, "outputs": [...]}]}
    checkpoint_samples = models.JSONField(default=dict, blank=True)
    notes = models.JSONField(default=list, blank=True)  # what the user should know about it
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True)
    device = models.CharField(max_length=100, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    restart_count = models.IntegerField(default=0)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = EvaluationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "pool", "created_at"], name="jobs_eval_pool_queue"),
            models.Index(fields=["owner", "-created_at"], name="jobs_eval_owner_newest"),
            models.Index(fields=["dataset", "status"], name="jobs_eval_dataset"),
        ]

    def __str__(self) -> str:
        return f"Evaluation #{self.pk}: {self.model} on {self.dataset_id}"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def progress_percent(self) -> int:
        if self.status == JobStatus.SUCCEEDED:
            return 100
        if not self.examples_total:
            return 0
        return min(100, round(100 * self.examples_done / self.examples_total))

    def log(self, message: str, *, level: str = "info") -> "EvaluationEvent":
        return EvaluationEvent.objects.create(evaluation=self, level=level, message=message)

    # --- State changes: each one conditional UPDATE, then its event and the signal ---------

    def _move(self, read: dict[str, Any], status: str, message: str, **fields: Any) -> bool:
        level = fields.pop("level", "info")
        took = type(self).objects.filter(pk=self.pk, **read).update(status=status, **fields)
        if took:
            self.refresh_from_db()
            self.log(message, level=level)
            evaluation_state_changed.send(sender=type(self), evaluation=self, status=status)
        return bool(took)

    def _owned_by(self, worker: str) -> dict[str, str]:
        return {"status": JobStatus.RUNNING, "worker": worker}

    def record_progress(self, worker: str, **fields: Any) -> bool:
        """Progress with a fresh heartbeat, only while `worker` owns the running evaluation."""
        owned = type(self).objects.filter(pk=self.pk, **self._owned_by(worker))
        return bool(owned.update(heartbeat_at=timezone.now(), **fields))

    def stop_reason(self, worker: str) -> str | None:
        """Read afresh: "cancelled", "lost to another worker", or None to go on."""
        row = (
            type(self)
            .objects.filter(pk=self.pk)
            .values("status", "worker", "cancel_requested")
            .first()
        )
        if row is None or row["worker"] != worker or row["status"] != JobStatus.RUNNING:
            return "lost to another worker"
        return "cancelled" if row["cancel_requested"] else None

    def succeed(self, worker: str, message: str, **fields: Any) -> bool:
        now = timezone.now()
        return self._move(
            self._owned_by(worker),
            JobStatus.SUCCEEDED,
            message,
            finished_at=now,
            heartbeat_at=now,
            eta_seconds=0,
            **fields,
        )

    def fail(self, worker: str, reason: str) -> bool:
        return self._move(
            self._owned_by(worker),
            JobStatus.FAILED,
            f"Failed: {reason}",
            level="error",
            error=reason,
            finished_at=timezone.now(),
        )

    def cancelled_by_worker(self, worker: str, message: str) -> bool:
        return self._move(
            self._owned_by(worker), JobStatus.CANCELLED, message, finished_at=timezone.now()
        )

    def request_cancel(self) -> bool:
        """A queued evaluation is cancelled at once; a running one is asked to stop after its
        current batch. A finished one is refused with the reason (ValueError)."""
        if self.is_finished:
            raise ValueError(
                f"Evaluation {self.pk} has already {self.status}: there is nothing to cancel."
            )
        if self.status == JobStatus.QUEUED:
            return self._move(
                {"status": JobStatus.QUEUED},
                JobStatus.CANCELLED,
                "Cancelled before it started",
                cancel_requested=True,
                finished_at=timezone.now(),
            )
        running = {"status": JobStatus.RUNNING, "cancel_requested": False}
        if not type(self).objects.filter(pk=self.pk, **running).update(cancel_requested=True):
            return False
        self.cancel_requested = True
        self.log("Cancel requested: stopping after the current batch")
        return True

    def requeue_or_fail(self, why: str) -> str | None:
        """A running evaluation whose worker died (no heartbeat): queued again to start over,
        or failed past JOB_MAX_RESTARTS; cancelled if a cancel was asked for. Returns the new
        status, or None if it did not take."""
        read = {"status": JobStatus.RUNNING, "heartbeat_at": self.heartbeat_at}
        if self.cancel_requested:
            took = self._move(
                read, JobStatus.CANCELLED, f"{why}; cancelled", finished_at=timezone.now()
            )
        elif self.restart_count >= settings.JOB_MAX_RESTARTS:
            reason = f"{why}, and it already restarted {self.restart_count} times (the limit)."
            took = self._move(
                read,
                JobStatus.FAILED,
                f"Failed: {reason}",
                level="error",
                error=reason,
                finished_at=timezone.now(),
            )
        else:
            took = self._move(
                {**read, "cancel_requested": False},
                JobStatus.QUEUED,
                f"{why}; queued again (restart {self.restart_count + 1})",
                level="warning",
                worker="",
                restart_count=models.F("restart_count") + 1,
                queued_at=timezone.now(),
                examples_done=0,
            )
        return self.status if took else None


class EvaluationExample(models.Model):
    """One example as evaluated: what the model was given, what it said, how it scored."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="examples")
    index = models.IntegerField()  # the example's position in the dataset (0-based)
    prompt = models.TextField()
    reference = models.TextField(blank=True)
    output = models.TextField(blank=True)
    # {metric: score}: per-example scores (sentence BLEU/chrF for bleu/chrf), mean log-lik.
    scores = models.JSONField(default=dict)
    prompt_tokens = models.IntegerField(default=0)
    output_tokens = models.IntegerField(default=0)
    reference_tokens = models.IntegerField(default=0)
    finish_reason = models.CharField(max_length=8, blank=True)
    seconds = models.FloatField(default=0)  # this example's share of its batch's time

    class Meta:
        ordering = ["index"]
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "index"], name="one_row_per_example")
        ]

    def __str__(self) -> str:
        return f"evaluation {self.evaluation_id} example {self.index}"


class EvaluationEvent(models.Model):
    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(default=timezone.now)
    level = models.CharField(max_length=8, default="info")
    message = models.TextField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"[{self.level}] {self.message[:60]}"
