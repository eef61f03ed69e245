"""The Job: what a user asked to train, where it stands, and where its files are.

Its queryset (Job.objects) holds the visibility rule and the fair claim a free worker makes;
its state changes live in jobs/models/job_lifecycle.py (mixed in). No other module writes
`status`; jobs.training decides which transition to call and does what lies outside the row
(the queue, the engine, files).
"""

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from django.conf import settings
from django.db import connection, models
from django.db.models import Q
from django.utils import timezone

from accounts.teams.models import Membership
from jobs.models.base_model import BaseModel
from jobs.models.dataset import Dataset
from jobs.models.evaluation import running_by_owner_sql
from jobs.models.job_lifecycle import JobLifecycle, JobStatus, job_state_changed
from jobs.models.records import JobEvent
from jobs.models.share import JobShare
from jobs.storage import files

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


class JobQuerySet(models.QuerySet["Job"]):
    def for_user(self, user: "User") -> Self:
        """The user's own jobs, in any space: what their quotas count."""
        return self.filter(owner=user)

    def visible_to(self, user: "User | AnonymousUser", *, lazy: bool = False) -> Self:
        """What `user` may see: their own jobs, their teams' jobs and jobs shared with them. The
        one "visible to" rule for jobs (jobs.sharing.access has the "may change" check).

        The user's team ids and shared job ids are read first (two small indexed queries): as
        literal lists, PostgreSQL combines the owner, team and id indexes (a bitmap OR), where
        subqueries made it walk every job of every user (measured: 14 ms at 30,000 jobs for a
        user with none, growing with the table). lazy=True keeps them as subqueries, for one
        statement narrowed by id anyway (the live page's poll)."""
        if not user.is_authenticated:
            return self.none()
        shares = JobShare.objects.filter(user=user).values_list("job_id", flat=True)
        return self.filter(
            Q(owner=user)
            | Q(team__in=Membership.objects.team_ids(user, lazy=lazy))
            | Q(pk__in=shares if lazy else list(shares))
        )

    def active(self) -> Self:
        # A paused job will run again: it keeps its datasets in use like a queued one.
        status = self.model.Status
        return self.filter(status__in=[status.QUEUED, status.RUNNING, status.PAUSED])

    def stale(self, *, seconds: float | None = None) -> Self:
        """Running jobs whose worker has not written a heartbeat for a while."""
        seconds = seconds or settings.JOB_HEARTBEAT_TIMEOUT_S
        cutoff = timezone.now() - timedelta(seconds=seconds)
        return self.filter(status=self.model.Status.RUNNING, heartbeat_at__lt=cutoff)

    def create_queued(self, **fields: Any) -> "Job":
        """A new job, queued, with the state event that opens its log."""
        job = self.create(status=self.model.Status.QUEUED, **fields)
        job.log("Queued", kind="state", data={"status": self.model.Status.QUEUED})
        job_state_changed.send(sender=self.model, job=job, status=self.model.Status.QUEUED)
        return job

    def claim(self, job_id: int, worker: str) -> "Job | None":
        """The job for `worker` to run, now running, or None: it is not queued any more (another
        worker has it, it was cancelled) or no longer exists."""
        job = self.filter(pk=job_id).first()
        return job if job is not None and job.claim(worker) else None

    def claim_next(self, pool: str, worker: str) -> "Job | None":
        """The fairest queued job of `pool`, now running for `worker`, or None: one statement.

        Fair share: the job of the user with the fewest running jobs and evaluations in the
        pool (jobs.models.evaluation.running_by_owner_sql); among users running as many, the
        one whose last job in the pool started longest ago (so short jobs still go round the
        users, not back to whoever queued first); oldest first within a user. A user already
        running USER_MAX_RUNNING_JOBS jobs and evaluations (any pool) waits. On PostgreSQL the
        chosen row is locked with SKIP LOCKED, so concurrent workers each take a
        different job without waiting on one another and never the same one; only each user's
        oldest queued job is a candidate, so a worker that skips a row another is claiming
        moves on to another user, not to that user's next job. SQLite runs writers one at a
        time (transaction_mode IMMEDIATE), so it needs no lock clause."""
        table = self.model._meta.db_table
        lock = " FOR UPDATE OF j SKIP LOCKED" if connection.vendor == "postgresql" else ""
        now = timezone.now()
        running, queued = self.model.Status.RUNNING, self.model.Status.QUEUED
        sql = f"""
            UPDATE {table} SET status = %s, worker = %s, heartbeat_at = %s,
                started_at = COALESCE(started_at, %s), error = ''
            WHERE id = (
                SELECT j.id FROM {table} j
                LEFT JOIN ({running_by_owner_sql()}) r ON r.owner_id = j.owner_id
                LEFT JOIN (SELECT owner_id, MAX(started_at) AS last_start FROM {table}
                           WHERE pool = %s AND started_at >= %s GROUP BY owner_id) l
                       ON l.owner_id = j.owner_id
                WHERE j.status = %s AND j.pool = %s AND NOT j.cancel_requested
                  AND COALESCE(r.total, 0) < %s
                  AND j.id = (
                      SELECT o.id FROM {table} o
                      WHERE o.owner_id = j.owner_id AND o.status = j.status AND o.pool = j.pool
                        AND NOT o.cancel_requested
                      ORDER BY o.created_at, o.id LIMIT 1)
                ORDER BY COALESCE(r.in_pool, 0),
                         CASE WHEN l.last_start IS NULL THEN 0 ELSE 1 END, l.last_start,
                         j.created_at, j.id
                LIMIT 1{lock}
            ) AND status = %s
            RETURNING id"""
        params: list[str | int | datetime]
        params = [running, worker, now, now, pool, running, pool, running]
        params += [pool, now - timedelta(days=1)]
        params += [queued, pool, settings.USER_MAX_RUNNING_JOBS, queued]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        job = self.get(pk=row[0])
        data = {"status": running, "worker": worker}
        job.log(f"Running on worker {worker}", kind="state", data=data)
        job_state_changed.send(sender=self.model, job=job, status=running)
        return job


class Job(JobLifecycle, models.Model):
    Status = JobStatus  # with the transitions between them, in job_lifecycle.py

    class Method(models.TextChoices):
        FULL = "full", "Full fine-tuning"
        LORA = "lora", "LoRA"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jobs"
    )
    # The team whose members share it, or None: the owner's personal space. Deleting the team
    # hands its jobs back to their owners' personal spaces.
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="jobs"
    )
    name = models.CharField(max_length=200)
    notes = models.TextField(blank=True)
    # RESTRICT, not PROTECT: a dataset (or a parent job) in use cannot be deleted on its own,
    # but deleting the user deletes it together with the jobs that use it.
    dataset = models.ForeignKey(Dataset, on_delete=models.RESTRICT, related_name="jobs")
    validation_dataset = models.ForeignKey(
        Dataset, on_delete=models.RESTRICT, null=True, blank=True, related_name="validation_jobs"
    )
    base_model = models.ForeignKey(
        BaseModel, on_delete=models.PROTECT, null=True, blank=True, related_name="jobs"
    )
    parent_job = models.ForeignKey(
        "self",
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="child_jobs",
        help_text="A finished job the user may see whose model this job continues from",
    )
    # Set when the job continues from one of parent_job's kept checkpoints, not its final model.
    parent_checkpoint_step = models.IntegerField(null=True, blank=True)
    method = models.CharField(max_length=8, choices=Method.choices, default=Method.FULL)
    requested_hyperparameters = models.JSONField(default=dict, blank=True)
    hyperparameters = models.JSONField(default=dict, blank=True)  # every value resolved
    hyperparameter_reasons = models.JSONField(default=dict, blank=True)

    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    # The pool of workers whose queue the job waits in (jobs.planning.routing chose it at launch).
    pool = models.CharField(max_length=64, default="cpu")
    preempt_count = models.IntegerField(default=0)  # SIGTERMs survived; not restarts
    cancel_requested = models.BooleanField(default=False)
    pause_requested = models.BooleanField(default=False)
    step = models.IntegerField(default=0)
    total_steps = models.IntegerField(default=0)
    epoch = models.FloatField(default=0)
    tokens_seen = models.BigIntegerField(default=0)
    tokens_per_second = models.FloatField(null=True, blank=True)
    eta_seconds = models.FloatField(null=True, blank=True)
    train_loss = models.FloatField(null=True, blank=True)  # latest
    eval_loss = models.FloatField(null=True, blank=True)  # latest

    # {"seconds": ..., "peak_memory_bytes": ..., "cost": ..., "device": ..., "fits": ..., ...}
    estimate = models.JSONField(default=dict, blank=True)
    # the same keys, measured, filled in when the job ends
    actual = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True)
    device = models.CharField(max_length=100, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    restart_count = models.IntegerField(default=0)
    output_dir = models.CharField(max_length=500, blank=True)  # relative to MEDIA_ROOT
    samples = models.JSONField(default=list, blank=True)  # [{"prompt": ..., "output": ...}]
    # After it succeeds, evaluate its model and its base model on held-out examples
    # (jobs.evaluations.services.evaluation_auto_create), with this pattern as a metric if set.
    auto_evaluation = models.BooleanField(default=True)
    evaluation_regex = models.CharField(max_length=500, blank=True)
    # Set by OpenAI-compatible clients: the suffix names the fine-tuned model
    # (ft:<base>:<suffix>:<id>); metadata is the client's own key-value pairs, filterable.
    suffix = models.CharField(max_length=64, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # when its current task was enqueued: at launch, and again each time a reaper requeues it
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "status"]),
            # What a free worker of a pool looks at: its queued jobs.
            models.Index(fields=["status", "pool", "created_at"], name="jobs_job_pool_queue"),
            # Each user's oldest queued job in a pool (the claim's candidates).
            models.Index(
                fields=["owner", "status", "pool", "created_at"], name="jobs_job_owner_queue"
            ),
            # Who was served last in a pool (the claim's tie-break between users).
            models.Index(fields=["pool", "started_at"], name="jobs_job_pool_started"),
            # A user's list, newest first, one page at a time (and its count).
            models.Index(fields=["owner", "-created_at"], name="jobs_job_owner_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (#{self.pk})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def folder(self) -> Path:
        """The job's files: checkpoints/, final/ (model/, and adapter/ for LoRA), model.zip."""
        return files.local_root() / "jobs" / str(self.pk)

    @property
    def model_folder(self) -> Path | None:
        """The loadable Hugging Face folder of a succeeded job (the merged model for LoRA)."""
        return files.local_root() / self.output_dir / "model" if self.output_dir else None

    def checkpoint_model_dir(self, step: int) -> Path:
        """Where the checkpoint at `step` is saved as a model (model/, adapter/ for LoRA) once
        someone downloads it or trains from it."""
        return self.folder / "checkpoint-models" / f"step-{step:08d}"

    @property
    def gguf_folder(self) -> Path | None:
        """The GGUF files and Ollama Modelfile of a succeeded GPT-2 job, beside its model."""
        return files.local_root() / self.output_dir / "gguf" if self.output_dir else None

    @property
    def gguf_stem(self) -> str:
        return f"llm-tuner-job-{self.pk}"

    def gguf_file(self, quant: str) -> Path:
        """The GGUF file in `quant` (f16, q8_0), named as it downloads: the Modelfile's FROM."""
        folder = self.gguf_folder
        assert folder is not None, f"Job {self.pk} has no model folder (output_dir is empty)"
        return folder / f"{self.gguf_stem}-{quant}.gguf"

    @property
    def has_gguf(self) -> bool:
        return self.has_model() and files.exists(f"{self.output_dir}/gguf/Modelfile")

    def has_model(self) -> bool:
        """Whether the job succeeded and its model's files are there to load or download."""
        return (
            self.status == self.Status.SUCCEEDED
            and bool(self.output_dir)
            and files.exists(f"{self.output_dir}/model/config.json")
        )

    def local_model_folder(self) -> Path:
        """model_folder on this machine, downloaded from the object store first if need be."""
        return files.fetch_folder(f"{self.output_dir}/model")

    def no_model_reason(self) -> str:
        """Why there is no model to download or generate with (the API and the portal alike)."""
        if self.status in (self.Status.QUEUED, self.Status.RUNNING, self.Status.PAUSED):
            return f"Job {self.pk} is {self.status}: its model exists once it has succeeded."
        if self.status != self.Status.SUCCEEDED:
            return f"Job {self.pk} {self.status}, so it has no model: only a succeeded job has one."
        return f"Job {self.pk}'s model files are missing."

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.SUCCEEDED:
            return 100
        if not self.total_steps:
            return 0
        return min(100, round(100 * self.step / self.total_steps))

    @property
    def duration_seconds(self) -> float | None:
        if not self.started_at:
            return None
        end = self.finished_at or timezone.now()
        return (end - self.started_at).total_seconds()

    # --- Lifecycle ------------------------------------------------------------------------

    def log(
        self,
        message: str,
        *,
        level: str = "info",
        kind: str = "log",
        data: dict[str, Any] | None = None,
    ) -> JobEvent:
        return JobEvent.objects.create(
            job=self, level=level, kind=kind, message=message, data=data or {}
        )
