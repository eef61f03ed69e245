"""What a running job leaves behind: metric points, log events and checkpoint records.

Written by the worker as it trains (jobs.training.recording) and read by the live pages and the
API; the Job itself and its state changes are in jobs/models/job.py.
"""

from django.db import models
from django.utils import timezone


class MetricPoint(models.Model):
    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="metrics")
    step = models.IntegerField()
    epoch = models.FloatField(default=0)
    train_loss = models.FloatField(null=True, blank=True)
    eval_loss = models.FloatField(null=True, blank=True)
    # Share of predicted tokens whose top choice was right, and exp(eval loss).
    train_accuracy = models.FloatField(null=True, blank=True)
    eval_accuracy = models.FloatField(null=True, blank=True)
    eval_perplexity = models.FloatField(null=True, blank=True)
    learning_rate = models.FloatField(null=True, blank=True)
    grad_norm = models.FloatField(null=True, blank=True)
    tokens_per_second = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["step", "id"]
        indexes = [models.Index(fields=["job", "step"])]

    def __str__(self) -> str:
        return f"job {self.job_id} step {self.step}"


class JobEvent(models.Model):
    class Level(models.TextChoices):
        DEBUG = "debug", "Debug"
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"

    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(default=timezone.now)
    level = models.CharField(max_length=8, choices=Level.choices, default=Level.INFO)
    # state, eval, checkpoint, warning, log, sample
    kind = models.CharField(max_length=16, default="log")
    message = models.TextField()
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"[{self.level}] {self.message[:60]}"


class Checkpoint(models.Model):
    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="checkpoints")
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

    def __str__(self) -> str:
        return f"job {self.job_id} step {self.step}"
