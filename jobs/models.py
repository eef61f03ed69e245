"""The records of a training job: the Job and its lifecycle, its metrics, log and checkpoints.

Dataset and BaseModel live with their topics (jobs/datasets/models.py, jobs/catalog/models.py),
a job's metric points, log events and checkpoints in jobs/records.py; all are re-exported here,
the module Django loads as the app's models.

A job changes state only through the lifecycle methods below (Job.objects.claim, heartbeat,
record_progress, finish, fail, request_cancel, request_pause, hold, resume,
requeue_for_dead_worker, requeue_lost_task, preempt, stall). Each
is one UPDATE conditional on the state its caller read, and on the worker's token where a worker
acts, so of two processes racing for one job only one wins. Each returns whether it took (the
requeues return the new status, or None) and, when it took, writes one JobEvent of kind "state".
No other module writes `status`; jobs.services decides which transition to call and does what
lies outside the row (the queue, the engine, files).
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.dispatch import Signal
from django.utils import timezone

# Re-exported: `from jobs.models import Dataset` keeps working; migration 0001 names
# jobs.models.dataset_upload_path.
from accounts.teams.models import Membership
from jobs.catalog.models import BaseModel, BaseModelQuerySet  # noqa: F401
from jobs.datasets.models import Dataset, DatasetQuerySet, dataset_upload_path  # noqa: F401
from jobs.fleet import files
from jobs.fleet.models import Worker, WorkerQuerySet  # noqa: F401
from jobs.notifications.models import (  # noqa: F401
    EmailPreference,
    Notification,
    Webhook,
    WebhookDelivery,
)
from jobs.records import Checkpoint, JobEvent, MetricPoint  # noqa: F401
from jobs.sharing.models import JobShare

# Sent once for every change of a job's state, right after its state event is written (inside
# the caller's transaction): job=the job as it is now, status=its new state. Notifications
# (jobs.notifications.events) listen; nothing else may act on a state change behind _move.
job_state_changed = Signal()

# --- Jobs -----------------------------------------------------------------------------------


class JobQuerySet(models.QuerySet):
    def for_user(self, user):
        """The user's own jobs, in any space: what their quotas count."""
        return self.filter(owner=user)

    def visible_to(self, user, *, lazy=False):
        """What `user` may see: their own jobs, their teams' jobs and jobs shared with them. The
        one "visible to" rule for jobs (jobs.access has the "may change" check).

        The user's team ids and shared job ids are read first (two small indexed queries): as
        literal lists, PostgreSQL combines the owner, team and id indexes (a bitmap OR), where
        subqueries made it walk every job of every user (measured: 14 ms at 30,000 jobs for a
        user with none, growing with the table). lazy=True keeps them as subqueries, for one
        statement narrowed by id anyway (the live page's poll)."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        shares = JobShare.objects.filter(user=user).values_list("job_id", flat=True)
        return self.filter(
            Q(owner=user)
            | Q(team__in=Membership.objects.team_ids(user, lazy=lazy))
            | Q(pk__in=shares if lazy else list(shares))
        )

    def active(self):
        # A paused job will run again: it keeps its datasets in use like a queued one.
        return self.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING, Job.Status.PAUSED])

    def stale(self, *, seconds=None):
        """Running jobs whose worker has not written a heartbeat for a while."""
        seconds = seconds or settings.JOB_HEARTBEAT_TIMEOUT_S
        cutoff = timezone.now() - timedelta(seconds=seconds)
        return self.filter(status=Job.Status.RUNNING, heartbeat_at__lt=cutoff)

    def create_queued(self, **fields):
        """A new job, queued, with the state event that opens its log."""
        job = self.create(status=Job.Status.QUEUED, **fields)
        job.log("Queued", kind="state", data={"status": Job.Status.QUEUED})
        job_state_changed.send(sender=Job, job=job, status=Job.Status.QUEUED)
        return job

    def claim(self, job_id, worker):
        """The job for `worker` to run, now running, or None: it is not queued any more (another
        worker has it, it was cancelled) or no longer exists."""
        job = self.filter(pk=job_id).first()
        return job if job is not None and job.claim(worker) else None

    def claim_next(self, pool, worker):
        """The fairest queued job of `pool`, now running for `worker`, or None: one statement.

        Fair share: the job of the user with the fewest running jobs in the pool; among users
        running as many, the one whose last job in the pool started longest ago (so short jobs
        still go round the users, not back to whoever queued first); oldest first within a
        user. A user already running USER_MAX_RUNNING_JOBS jobs (any pool) waits. On
        PostgreSQL the chosen row is locked with SKIP LOCKED, so concurrent workers each take a
        different job without waiting on one another and never the same one; only each user's
        oldest queued job is a candidate, so a worker that skips a row another is claiming
        moves on to another user, not to that user's next job. SQLite runs writers one at a
        time (transaction_mode IMMEDIATE), so it needs no lock clause."""
        table = Job._meta.db_table
        lock = " FOR UPDATE OF j SKIP LOCKED" if connection.vendor == "postgresql" else ""
        now = timezone.now()
        running, queued = Job.Status.RUNNING, Job.Status.QUEUED
        sql = f"""
            UPDATE {table} SET status = %s, worker = %s, heartbeat_at = %s,
                started_at = COALESCE(started_at, %s), error = ''
            WHERE id = (
                SELECT j.id FROM {table} j
                LEFT JOIN (SELECT owner_id, COUNT(*) AS total,
                                  SUM(CASE WHEN pool = %s THEN 1 ELSE 0 END) AS in_pool
                           FROM {table} WHERE status = %s GROUP BY owner_id) r
                       ON r.owner_id = j.owner_id
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
        params = [running, worker, now, now, pool, running, pool, now - timedelta(days=1)]
        params += [queued, pool, settings.USER_MAX_RUNNING_JOBS, queued]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        job = self.get(pk=row[0])
        data = {"status": running, "worker": worker}
        job.log(f"Running on worker {worker}", kind="state", data=data)
        job_state_changed.send(sender=Job, job=job, status=running)
        return job


class Job(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

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
    # The pool of workers whose queue the job waits in (jobs.fleet.routing chose it at launch).
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

    def __str__(self):
        return f"{self.name} (#{self.pk})"

    @property
    def is_finished(self):
        return self.status in self.FINISHED

    @property
    def folder(self):
        """The job's files: checkpoints/, final/ (model/, and adapter/ for LoRA), model.zip."""
        return files.local_root() / "jobs" / str(self.pk)

    @property
    def model_folder(self):
        """The loadable Hugging Face folder of a succeeded job (the merged model for LoRA)."""
        return files.local_root() / self.output_dir / "model" if self.output_dir else None

    def checkpoint_model_dir(self, step):
        """Where the checkpoint at `step` is saved as a model (model/, adapter/ for LoRA) once
        someone downloads it or trains from it."""
        return self.folder / "checkpoint-models" / f"step-{step:08d}"

    @property
    def gguf_folder(self):
        """The GGUF files and Ollama Modelfile of a succeeded GPT-2 job, beside its model."""
        return files.local_root() / self.output_dir / "gguf" if self.output_dir else None

    @property
    def gguf_stem(self):
        return f"llm-tuner-job-{self.pk}"

    def gguf_file(self, quant):
        """The GGUF file in `quant` (f16, q8_0), named as it downloads: the Modelfile's FROM."""
        return self.gguf_folder / f"{self.gguf_stem}-{quant}.gguf"

    @property
    def has_gguf(self):
        return self.has_model() and files.exists(f"{self.output_dir}/gguf/Modelfile")

    def has_model(self):
        """Whether the job succeeded and its model's files are there to load or download."""
        return (
            self.status == self.Status.SUCCEEDED
            and bool(self.output_dir)
            and files.exists(f"{self.output_dir}/model/config.json")
        )

    def local_model_folder(self):
        """model_folder on this machine, downloaded from the object store first if need be."""
        return files.fetch_folder(f"{self.output_dir}/model")

    def no_model_reason(self):
        """Why there is no model to download or generate with (the API and the portal alike)."""
        if self.status in (self.Status.QUEUED, self.Status.RUNNING, self.Status.PAUSED):
            return f"Job {self.pk} is {self.status}: its model exists once it has succeeded."
        if self.status != self.Status.SUCCEEDED:
            return f"Job {self.pk} {self.status}, so it has no model: only a succeeded job has one."
        return f"Job {self.pk}'s model files are missing."

    @property
    def progress_percent(self):
        if self.status == self.Status.SUCCEEDED:
            return 100
        if not self.total_steps:
            return 0
        return min(100, round(100 * self.step / self.total_steps))

    @property
    def duration_seconds(self):
        if not self.started_at:
            return None
        end = self.finished_at or timezone.now()
        return (end - self.started_at).total_seconds()

    # --- Lifecycle ------------------------------------------------------------------------

    def _move(self, read, status, message, *, level="info", data=None, **fields):
        """The one way a job changes state: one UPDATE conditional on `read` (the state the
        caller saw), then, if it took, one state event. Returns whether it took."""
        took = Job.objects.filter(pk=self.pk, **read).update(status=status, **fields)
        if took:
            self.refresh_from_db(fields=["status", *fields])
            self.log(message, level=level, kind="state", data={"status": status, **(data or {})})
            job_state_changed.send(sender=Job, job=self, status=status)
        return bool(took)

    def _owned_by(self, worker):
        return {"status": self.Status.RUNNING, "worker": worker}

    def claim(self, worker):
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

    def heartbeat(self, worker):
        """`worker` is alive and still running this job; False once it no longer owns it."""
        return self.record_progress(worker)

    def record_progress(self, worker, **fields):
        """Progress figures (step, losses, ETA, device...) with a fresh heartbeat, written only
        while `worker` owns the running job: False tells a worker that lost it to stop."""
        owned = Job.objects.filter(pk=self.pk, **self._owned_by(worker))
        return bool(owned.update(heartbeat_at=timezone.now(), **fields))

    def stop_reason(self, worker):
        """Read afresh: why `worker` should stop ("cancelled", "paused", "lost to another
        worker"), or None to go on."""
        fields = ("status", "worker", "cancel_requested", "pause_requested")
        row = Job.objects.filter(pk=self.pk).values(*fields).first()
        if row is None or row["worker"] != worker or row["status"] != self.Status.RUNNING:
            return "lost to another worker"
        if row["cancel_requested"]:
            return "cancelled"
        return "paused" if row["pause_requested"] else None

    def finish(self, worker, status, message, *, actual, **fields):
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

    def fail(self, worker, reason, details=""):
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

    def request_cancel(self):
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
        if not Job.objects.filter(pk=self.pk, **running).update(cancel_requested=True):
            return False
        self.cancel_requested = True
        self.log("Cancel requested: stopping after the current step", kind="state")
        return True

    def request_pause(self):
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
        if not Job.objects.filter(pk=self.pk, pause_requested=False, **running).update(
            pause_requested=True
        ):
            return False
        self.pause_requested = True
        self.log("Pause requested: writing a checkpoint, then stopping", kind="state")
        return True

    def hold(self, worker, message, **fields):
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

    def resume(self):
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

    def requeue_for_dead_worker(self):
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

    def preempt(self, worker, message, **fields):
        """running -> queued when `worker` is being stopped (SIGTERM: spot capacity reclaimed, a
        deploy) after writing a checkpoint; another worker continues from it. Not a restart:
        JOB_MAX_RESTARTS counts deaths, not orderly stops. A cancel asked for meanwhile wins."""
        if Job.objects.filter(pk=self.pk, cancel_requested=True).exists():
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

    def stall(self, worker, seconds):
        """A run of `worker` that made no step for `seconds` (JOB_STALL_TIMEOUT_S) while its
        heartbeat thread lived: requeued as a restart, or failed past JOB_MAX_RESTARTS."""
        why = f"No training step for {seconds} s (JOB_STALL_TIMEOUT_S) on worker {worker}"
        return self._requeue_or_fail(
            {**self._owned_by(worker), "cancel_requested": False},
            why=why,
            requeued="queued again to resume from its newest checkpoint",
            worker="",
        )

    def requeue_lost_task(self):
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

    def _requeue_or_fail(self, read, *, why, requeued, **fields):
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

    def log(self, message, *, level="info", kind="log", data=None):
        return JobEvent.objects.create(
            job=self, level=level, kind=kind, message=message, data=data or {}
        )
