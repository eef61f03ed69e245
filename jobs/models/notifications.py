"""What a user hears about their work: email choices, the notifications menu's entries, webhook
endpoints and each delivery to them (re-exported by jobs.models, which Django loads)."""

import base64
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Self

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from accounts.teams.models import Membership, Role

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

# The events a webhook can subscribe to, in the order the portal lists them.
EVENT_TYPES = (
    "job.queued",
    "job.running",
    "job.succeeded",
    "job.failed",
    "job.cancelled",
    "dataset.validated",
    "evaluation.succeeded",
    "evaluation.failed",
)


class EmailPreference(models.Model):
    """Which of a user's job endings are emailed. A user without a row has the defaults."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_preference"
    )
    job_succeeded = models.BooleanField(default=True)
    job_failed = models.BooleanField(default=True)
    job_cancelled = models.BooleanField(default=False)
    # Entries of the notifications menu newer than this are shown as unread.
    seen_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Email choices of {self.user}"

    @classmethod
    def for_user(cls, user: "User") -> "EmailPreference":
        """The user's choices (an unsaved row with the defaults until they change one)."""
        return cls.objects.filter(user=user).first() or cls(user=user)

    def wants(self, status: str) -> bool:
        return bool(getattr(self, f"job_{status}", False))


class NotificationQuerySet(models.QuerySet["Notification"]):
    def for_user(self, user: "User") -> Self:
        return self.filter(user=user)


class Notification(models.Model):
    """One entry of a user's notifications menu: a job of theirs ended, or an evaluation."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    # One of the two is set: the job or the evaluation the entry is about.
    job = models.ForeignKey(
        "jobs.Job", on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    evaluation = models.ForeignKey(
        "jobs.Evaluation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    job_status = models.CharField(max_length=12)  # its state when it was written
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)
    emailed_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="jobs_notif_user_newest")]

    def __str__(self) -> str:
        return self.message

    def get_absolute_url(self) -> str:
        """The page the entry links to: its evaluation's, or its job's."""
        if self.evaluation_id is not None:
            return reverse("evaluation-detail", args=[self.evaluation_id])
        return reverse("job-detail", args=[self.job_id])


def new_webhook_secret() -> str:
    # Standard Webhooks: "whsec_" and the base64 of 24 to 64 random bytes.
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _seen_by(user: "User", prefix: str = "") -> models.Q:
    """Who sees (and so manages) a webhook: its owner while it is personal, and the team's
    admins while it is a team's, the rule of jobs.sharing.access.may_change(user, team). A member or
    viewer of the team does not see the team's endpoints: their URLs and delivery logs are
    admin business, so for them those ids do not exist (404), as for anyone outside."""
    admin_of = Membership.objects.team_ids(user, least=Role.ADMIN, lazy=False)
    personal = models.Q(**{f"{prefix}owner": user, f"{prefix}team__isnull": True})
    return personal | models.Q(**{f"{prefix}team__in": admin_of})


class WebhookQuerySet(models.QuerySet["Webhook"]):
    def for_user(self, user: "User") -> Self:
        """The user's personal endpoints (what WEBHOOKS_PER_USER counts); never a view's scope."""
        return self.filter(owner=user, team__isnull=True)

    def visible_to(self, user: "User | AnonymousUser") -> Self:
        """The endpoints `user` sees and manages: personal ones and those of teams they
        administer. The one scope of the webhooks API, pages and deliveries."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(_seen_by(user))

    def active(self) -> Self:
        """Endpoints that may receive events: every personal one, and a team's only while the
        admin who registered it is still an admin of the team (one removed, demoted or gone
        can no longer see or delete it, so it must not go on receiving the team's events)."""
        registrar_is_admin = Membership.objects.filter(
            team_id=models.OuterRef("team_id"),
            user_id=models.OuterRef("owner_id"),
            role=Role.ADMIN,
        )
        return self.filter(models.Q(team__isnull=True) | models.Exists(registrar_is_admin))

    def receiving(self, *, owner_id: int, team_id: int | None, event_type: str) -> list["Webhook"]:
        """The endpoints an event of a dataset, job or evaluation goes to: its owner's personal
        ones and, when it belongs to a team, the team's active ones, each only if subscribed
        to `event_type`."""
        space = models.Q(owner_id=owner_id, team__isnull=True)
        if team_id is not None:
            space |= models.Q(team_id=team_id)
        return [hook for hook in self.active().filter(space) if event_type in hook.events]


class Webhook(models.Model):
    """An endpoint that receives signed events: a user's own (team empty) or a team's (`owner`
    is then the admin who registered it; the team's admins manage it)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhooks"
    )
    team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhooks",
        help_text="Empty for a personal endpoint; else it receives the team's events.",
    )
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list)  # a subset of EVENT_TYPES
    # Kept to sign each delivery (an HMAC needs the key itself); shown to the user once.
    secret = models.CharField(max_length=100, default=new_webhook_secret, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    objects = WebhookQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.url

    @property
    def disabled_reason(self) -> str:
        """Why a team's endpoint receives nothing (its registrar is no longer an admin of the
        team), or "" for an active one."""
        if self.team_id is None or type(self).objects.active().filter(pk=self.pk).exists():
            return ""
        return (
            f"Disabled: {self.owner.username}, who registered it, is no longer an admin of "
            "the team, so it receives none of the team's events. Delete it and register a "
            "new one to receive them again."
        )


class WebhookDeliveryQuerySet(models.QuerySet["WebhookDelivery"]):
    def visible_to(self, user: "User | AnonymousUser") -> Self:
        """Deliveries to the endpoints `user` sees (Webhook.objects.visible_to's rule)."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(_seen_by(user, prefix="webhook__"))

    def due(self, now: datetime | None = None) -> Self:
        """Pending deliveries whose next attempt is due and that no worker is sending now."""
        now = now or timezone.now()
        free = models.Q(locked_until__isnull=True) | models.Q(locked_until__lt=now)
        return self.filter(free, state=WebhookDelivery.State.PENDING, next_attempt_at__lte=now)


class WebhookDelivery(models.Model):
    """One event for one endpoint, with the outcome of its latest attempt. Every attempt of it
    carries the same `webhook-id` (event_id), so a receiver can drop repeats."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=40)
    event_type = models.CharField(max_length=40)
    payload = models.JSONField()  # {id, type, created_at, data}
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    attempts = models.IntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Set while a worker sends it, so a second task for the same delivery does nothing.
    locked_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.IntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = WebhookDeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="jobs_whdelivery_due"),
            models.Index(fields=["webhook", "-created_at"], name="jobs_whdelivery_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} to {self.webhook.url}: {self.state}"
