import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils import timezone


def dataset_upload_path(instance, filename):
    # The user's filename is data (Dataset.original_filename), never part of a path.
    return f"datasets/{instance.owner_id}/{uuid.uuid4().hex}"


# --- Datasets -------------------------------------------------------------------------------


class DatasetQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(owner=user, deleted_at__isnull=True)

    def usable(self):
        return self.filter(status=Dataset.Status.VALID, deleted_at__isnull=True)


class Dataset(models.Model):
    class Format(models.TextChoices):
        TXT = "txt", "Plain text (.txt)"
        CSV = "csv", "CSV"
        JSON = "json", "JSON array"
        JSONL = "jsonl", "JSON Lines"

    class Kind(models.TextChoices):
        TEXT = "text", "Plain text"
        PROMPT_COMPLETION = "prompt_completion", "Prompt / completion"
        CHAT = "chat", "Chat messages"

    class Status(models.TextChoices):
        VALIDATING = "validating", "Validating"
        VALID = "valid", "Valid"
        INVALID = "invalid", "Invalid"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="datasets"
    )
    name = models.CharField(max_length=200)
    original_filename = models.CharField(max_length=255)
    file = models.FileField(upload_to=dataset_upload_path, max_length=255)
    format = models.CharField(max_length=8, choices=Format.choices)
    kind = models.CharField(max_length=24, choices=Kind.choices, blank=True)
    # {"text": "body"} or {"prompt": "question", "completion": "answer"} or {"messages": "turns"}
    column_mapping = models.JSONField(default=dict, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.VALIDATING)
    # First errors, each {"line": n, "field": "...", "message": "..."}; error_count counts all.
    errors = models.JSONField(default=list, blank=True)
    error_count = models.IntegerField(default=0)
    num_examples = models.IntegerField(default=0)
    total_tokens = models.BigIntegerField(default=0)
    # mean, p95, max tokens per example, histogram, truncated share, duplicates, context length
    stats = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Set when the user deleted it while finished jobs still refer to it: the file is gone, the
    # row stays for those jobs' history, and for_user()/usable() no longer return it.
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = DatasetQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.name

    @property
    def is_valid(self):
        return self.status == self.Status.VALID


# --- Base models ----------------------------------------------------------------------------


class BaseModelQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class BaseModel(models.Model):
    """A model a job can start from: pretrained from the hub, built-in, or an operator's folder.

    A user's own finished jobs are base models too; they are not rows here but Job.parent_job.
    """

    class Source(models.TextChoices):
        HUB = "hub", "Hugging Face Hub"
        BUILTIN = "builtin", "Built-in (random weights, offline)"
        LOCAL = "local", "Local folder"

    key = models.SlugField(max_length=100, unique=True)
    display_name = models.CharField(max_length=200)
    source = models.CharField(max_length=12, choices=Source.choices)
    hub_id = models.CharField(max_length=200, blank=True)
    local_path = models.CharField(max_length=500, blank=True)
    # For built-in models: the GPT2Config keyword arguments (n_layer, n_head, n_embd, n_positions).
    config = models.JSONField(default=dict, blank=True)
    description = models.TextField(blank=True)
    parameters = models.BigIntegerField(default=0)
    layers = models.IntegerField(default=0)
    hidden_size = models.IntegerField(default=0)
    heads = models.IntegerField(default=0)
    context_length = models.IntegerField(default=1024)
    is_active = models.BooleanField(default=True)
    sort_order = models.IntegerField(default=0)

    objects = BaseModelQuerySet.as_manager()

    class Meta:
        ordering = ["sort_order", "parameters"]

    def __str__(self):
        return self.display_name


# --- Jobs -----------------------------------------------------------------------------------


class JobQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(owner=user)

    def active(self):
        return self.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING])

    def stale(self, *, seconds=None):
        """Running jobs whose worker has not written a heartbeat for a while."""
        seconds = seconds or settings.JOB_HEARTBEAT_TIMEOUT_S
        cutoff = timezone.now() - timedelta(seconds=seconds)
        return self.filter(status=Job.Status.RUNNING, heartbeat_at__lt=cutoff)


class Job(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
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
        help_text="A finished job of the same user whose model this job continues from",
    )
    method = models.CharField(max_length=8, choices=Method.choices, default=Method.FULL)
    requested_hyperparameters = models.JSONField(default=dict, blank=True)
    hyperparameters = models.JSONField(default=dict, blank=True)  # every value resolved
    hyperparameter_reasons = models.JSONField(default=dict, blank=True)

    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    cancel_requested = models.BooleanField(default=False)
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
        return Path(settings.MEDIA_ROOT) / "jobs" / str(self.pk)

    @property
    def model_folder(self):
        """The loadable Hugging Face folder of a succeeded job (the merged model for LoRA)."""
        return Path(settings.MEDIA_ROOT) / self.output_dir / "model" if self.output_dir else None

    def has_model(self):
        """Whether the job succeeded and its model's files are there to load or download."""
        return (
            self.status == self.Status.SUCCEEDED
            and self.model_folder is not None
            and (self.model_folder / "config.json").exists()
        )

    def no_model_reason(self):
        """Why there is no model to download or generate with (the API and the portal alike)."""
        if self.status in (self.Status.QUEUED, self.Status.RUNNING):
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

    def log(self, message, *, level="info", kind="log", data=None):
        return JobEvent.objects.create(
            job=self, level=level, kind=kind, message=message, data=data or {}
        )


class MetricPoint(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="metrics")
    step = models.IntegerField()
    epoch = models.FloatField(default=0)
    train_loss = models.FloatField(null=True, blank=True)
    eval_loss = models.FloatField(null=True, blank=True)
    learning_rate = models.FloatField(null=True, blank=True)
    grad_norm = models.FloatField(null=True, blank=True)
    tokens_per_second = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["step", "id"]
        indexes = [models.Index(fields=["job", "step"])]

    def __str__(self):
        return f"job {self.job_id} step {self.step}"


class JobEvent(models.Model):
    class Level(models.TextChoices):
        DEBUG = "debug", "Debug"
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(default=timezone.now)
    level = models.CharField(max_length=8, choices=Level.choices, default=Level.INFO)
    # state, eval, checkpoint, warning, log, sample
    kind = models.CharField(max_length=16, default="log")
    message = models.TextField()
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"[{self.level}] {self.message[:60]}"


class Checkpoint(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="checkpoints")
    step = models.IntegerField()
    path = models.CharField(max_length=500)  # relative to MEDIA_ROOT
    size_bytes = models.BigIntegerField(default=0)
    eval_loss = models.FloatField(null=True, blank=True)
    is_final = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["step"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "step", "is_final"], name="one_checkpoint_per_step"
            )
        ]

    def __str__(self):
        return f"job {self.job_id} step {self.step}"
