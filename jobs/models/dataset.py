"""The Dataset record (re-exported by jobs.models, which Django loads as the app's models)."""

import uuid
from typing import TYPE_CHECKING, Self

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone

from accounts.teams.models import Membership, Role

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

# Sent when a dataset's validation has finished, valid or not (dataset=the dataset, saved).
dataset_validated = Signal()


def dataset_upload_path(instance: "Dataset", filename: str) -> str:
    # The user's filename is data (Dataset.original_filename), never part of a path.
    return f"datasets/{instance.owner_id}/{uuid.uuid4().hex}"


class DatasetQuerySet(models.QuerySet["Dataset"]):
    def for_user(self, user: "User") -> Self:
        """The user's own datasets, in any space: what their quota counts."""
        return self.filter(owner=user, deleted_at__isnull=True)

    def visible_to(self, user: "User | AnonymousUser") -> Self:
        """What `user` may see: their own datasets and those of every team they are in. The one
        "visible to" rule for datasets (jobs.sharing.access has the "may change" check)."""
        if not user.is_authenticated:
            return self.none()
        teams = Membership.objects.team_ids(user, lazy=False)  # why a list: Job.visible_to
        return self.filter(Q(owner=user) | Q(team__in=teams), deleted_at__isnull=True)

    def usable_by(self, user: "User | AnonymousUser") -> Self:
        """Visible datasets `user` may train on: their own and their teams' where they are at
        least a member (a viewer only looks)."""
        if not user.is_authenticated:
            return self.none()
        teams = Membership.objects.team_ids(user, least=Role.MEMBER, lazy=False)
        return self.filter(Q(owner=user) | Q(team__in=teams), deleted_at__isnull=True)

    def usable(self) -> Self:
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
    # The team whose members share it, or None: the owner's personal space. Deleting the team
    # hands its datasets back to their owners' personal spaces.
    team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="datasets",
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
    # The shape the records were recognised as (one of jobs.datasets.formats.FORMATS:
    # "openai_chat", "sharegpt", "alpaca", "prompt_completion", "text"); kind is what it becomes.
    detected_format = models.CharField(max_length=24, blank=True)
    # The text encoding the file was read with ("utf-8", "utf-16", "windows-1252"); the upload's
    # `encoding` field forces one, otherwise it is detected from the first bytes.
    encoding = models.CharField(max_length=16, blank=True)
    requested_encoding = models.CharField(max_length=16, blank=True)
    # Keep the valid rows of a file with a few bad ones; the bad ones are listed in errors.
    skip_invalid_rows = models.BooleanField(default=False)
    skipped_rows = models.IntegerField(default=0)
    # Sentences about how the file was read (assumed encoding, skipped rows).
    notes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Set when the user deleted it while finished jobs still refer to it: the file is gone, the
    # row stays for those jobs' history, and for_user()/usable() no longer return it.
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = DatasetQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_valid(self) -> bool:
        return self.status == self.Status.VALID

    def unusable_reason(self) -> str | None:
        """Why a job cannot train on this dataset, or None when it can: the one wording that
        launching, estimating and the wizard show (usable() selects the same datasets)."""
        if self.deleted_at is not None:
            return f"The dataset {self.name!r} has been deleted."
        if self.status == self.Status.VALIDATING:
            return f"The dataset {self.name!r} is still being checked; try again in a moment."
        if self.status != self.Status.VALID:
            problems = f"{self.error_count:,} problem{'s' if self.error_count != 1 else ''}"
            return (
                f"The dataset {self.name!r} is invalid ({problems}): see its report for the "
                f"rows to fix."
            )
        return None
