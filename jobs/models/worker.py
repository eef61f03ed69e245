"""The worker registry: every running `manage.py qcluster` states its pool and what it measured
(host, kind, device, memory) and keeps `last_seen` fresh; routing reads the live ones.

A worker is one qcluster process (its forked children run the jobs, one at a time with
`Q_WORKERS=1`, which a GPU worker keeps: one GPU per worker process).
"""

from datetime import timedelta
from typing import Self

from django.conf import settings
from django.db import models
from django.utils import timezone


class WorkerQuerySet(models.QuerySet["Worker"]):
    def live(self) -> Self:
        """Seen within JOB_HEARTBEAT_TIMEOUT_S and not stopped: a pool with one can run jobs."""
        cutoff = timezone.now() - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT_S)
        return self.filter(last_seen__gte=cutoff, stopped_at=None)


class Worker(models.Model):
    name = models.CharField(max_length=200, unique=True)  # host:pid of the qcluster process
    host = models.CharField(max_length=200)
    pool = models.CharField(max_length=64, db_index=True)
    kind = models.CharField(max_length=32, help_text="cpu, cuda, h100, h200, l4...")
    device_name = models.CharField(max_length=200, blank=True)
    memory_bytes = models.BigIntegerField(default=0, help_text="device memory (RAM on a CPU)")
    started_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    # SIGTERM reached it: its running job checkpoints and returns to the queue.
    stopping = models.BooleanField(default=False)
    current_job = models.ForeignKey(
        "jobs.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = WorkerQuerySet.as_manager()

    class Meta:
        ordering = ["pool", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.pool})"

    @property
    def is_live(self) -> bool:
        cutoff = timezone.now() - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT_S)
        return self.stopped_at is None and self.last_seen >= cutoff
