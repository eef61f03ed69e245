"""Notification workflows: email choices, the job-ended email, the notifications menu, and
webhook endpoints with their deliveries (register, delete, send, retry, redeliver).

Emails and deliveries are sent by queue tasks (jobs.notifications.tasks), never in a request.
A delivery is attempted at once, then retried with exponential backoff (WEBHOOK_RETRY_BASE_S
doubling) up to WEBHOOK_MAX_ATTEMPTS attempts; a 2xx answer ends it. Its row is the source of
truth: a worker sends it only after taking its lock with one conditional UPDATE, so two tasks
for one delivery send it once.
"""

import json
import logging
import time
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.teams.models import Team
from jobs.engine.constants import worker_cost
from jobs.models.notifications import (
    EVENT_TYPES,
    EmailPreference,
    Notification,
    Webhook,
    WebhookDelivery,
)
from jobs.notifications import enqueue as queue
from jobs.notifications import sending
from jobs.sharing import access
from tunerproject.ids import is_id, unknown

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from jobs.models import Job

logger = logging.getLogger(__name__)

MENU_SIZE = 8  # entries in the notifications menu
DUE_PER_SWEEP = 50  # deliveries one sweep sends at most; the next sweep takes the rest

# --- Email ----------------------------------------------------------------------------------


def email_preference_update(
    *, user: "User", job_succeeded: bool, job_failed: bool, job_cancelled: bool
) -> EmailPreference:
    preference = EmailPreference.for_user(user)
    preference.job_succeeded = bool(job_succeeded)
    preference.job_failed = bool(job_failed)
    preference.job_cancelled = bool(job_cancelled)
    preference.save()
    return preference


def notification_email_send(*, notification_id: int) -> bool:
    """The email about one ended job, to its owner, once. Returns whether it was sent."""
    notification = (
        Notification.objects.select_related("user", "job", "job__base_model")
        .filter(pk=notification_id, emailed_at__isnull=True)
        .first()
    )
    if notification is None or not notification.user.email or notification.job is None:
        return False  # evaluations are in the menu and on webhooks, not emailed
    job = notification.job
    context = {
        "user": notification.user,
        "job": job,
        "status": notification.job_status,
        "figures": job_figures(job),
        "link": settings.SITE_URL.rstrip("/") + reverse("job-detail", args=[job.pk]),
        "preferences_link": settings.SITE_URL.rstrip("/") + reverse("profile") + "#notifications",
    }
    subject = render_to_string("jobs/email/job_ended_subject.txt", context).strip()
    body = render_to_string("jobs/email/job_ended.txt", context)
    send_mail(subject, body, None, [notification.user.email])
    Notification.objects.filter(pk=notification.pk).update(emailed_at=timezone.now())
    return True


def job_figures(job: "Job") -> dict[str, Any]:
    """What an email says about how a job went: losses, steps, time and cost as people read
    them. A run that did not finish has no measured cost: it is priced from its duration."""
    actual = job.actual or {}
    seconds = actual.get("seconds", job.duration_seconds)
    cost = actual.get("cost")
    if cost is None and seconds is not None:
        cost = worker_cost(seconds, settings.WORKER_KIND, settings.WORKER_PRICES_PER_HOUR)
    return {
        "train_loss": _loss(job.train_loss),
        "eval_loss": _loss(job.eval_loss),
        "steps": f"{job.step} of {job.total_steps}",
        "tokens_per_second": actual.get("tokens_per_second"),
        "time": _duration(seconds),
        "cost": "—" if cost is None else f"{cost:.2f} {settings.WORKER_PRICE_CURRENCY}",
    }


def _loss(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


# --- The notifications menu -----------------------------------------------------------------


class NotificationsMenu(TypedDict):
    entries: list[Notification]
    unread: int


def notifications_menu(*, user: "User") -> NotificationsMenu:
    """The newest entries and how many of them arrived since the user last opened the menu."""
    preference = EmailPreference.for_user(user)
    entries = list(
        Notification.objects.for_user(user).select_related("job", "evaluation")[:MENU_SIZE]
    )
    seen = preference.seen_until
    unread = sum(1 for entry in entries if seen is None or entry.created_at > seen)
    return {"entries": entries, "unread": unread}


def notifications_mark_seen(*, user: "User") -> None:
    preference = EmailPreference.for_user(user)
    preference.seen_until = timezone.now()
    preference.save()


# --- Webhooks -------------------------------------------------------------------------------


def webhook_create(
    *, owner: "User", url: str | None, events: Collection[str] | None, team: Team | None = None
) -> Webhook:
    """1. Refuse a URL that is not http(s) or resolves to a private address (unless
       WEBHOOK_ALLOW_PRIVATE), an unknown or empty list of events, or one endpoint too many
       (WEBHOOKS_PER_USER for the owner's personal ones, as many again for each team).
    2. Save it with a new secret, which the caller shows once. `team` (from webhook_team_for)
       makes it the team's: it receives the team's events and the team's admins manage it."""
    url = (url or "").strip()
    unknown = sorted(set(events or ()) - set(EVENT_TYPES))
    if not events or unknown:
        named = f"Unknown events: {', '.join(unknown)}. " if unknown else ""
        raise ValidationError({"events": [f"{named}Choose from {', '.join(EVENT_TYPES)}."]})
    try:
        sending.check_url(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
    except sending.RefusedTarget as exc:
        raise ValidationError({"url": [str(exc)]}) from exc
    limit = settings.WEBHOOKS_PER_USER
    if team is not None and Webhook.objects.filter(team=team).count() >= limit:
        raise ValidationError({"url": [f"Team “{team.name}” has {limit} webhooks, the most."]})
    if team is None and Webhook.objects.for_user(owner).count() >= limit:
        raise ValidationError({"url": [f"You have {limit} webhooks, the most allowed."]})
    ordered = [event for event in EVENT_TYPES if event in events]
    return Webhook.objects.create(owner=owner, team=team, url=url, events=ordered)


def webhook_team_for(*, user: "User", team_id: int | str | None) -> Team | None:
    """The Team a new webhook of `user` belongs to, or None for a personal one: a team they are
    not in reads as unknown (400, as for datasets and jobs); one they are in without being its
    admin is a 403 saying so (access.may_change(user, team) is the admin check)."""
    if team_id in (None, ""):
        return None
    team = Team.objects.visible_to(user).filter(pk=team_id).first() if is_id(team_id) else None
    if team is None:
        raise unknown("team", f"No team with id {team_id} among your teams.")
    if not access.may_change(user, team):
        raise PermissionDenied(
            f"Only an admin of team “{team.name}” registers webhooks for it; you are "
            f"{access.role_in(user, team.pk)} there."
        )
    return team


def webhook_delete(*, webhook: Webhook) -> None:
    webhook.delete()  # its deliveries go with it


def webhook_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again, by a new task (same event id and body, a fresh signature)."""
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            state=WebhookDelivery.State.PENDING,
            next_attempt_at=timezone.now() + timedelta(seconds=600),
        )
        queue.enqueue_on_commit("webhook_deliver_task", delivery.pk)
    delivery.refresh_from_db()
    return delivery


def webhook_deliver(*, delivery_id: int, now: datetime | None = None) -> str | None:
    """1. Take the delivery's lock (pending, and no other worker sending it); else do nothing.
    2. POST the body, signed, to the endpoint (sending.post: public addresses only, the
       response read and the time bounded).
    3. Record the outcome: delivered on a 2xx; otherwise pending again after the backoff, or
       failed after the last attempt. Returns the new state, or None if not sent."""
    now = now or timezone.now()
    lock = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_S * 3 + 60)
    free = Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    pending = WebhookDelivery.objects.filter(
        free, pk=delivery_id, state=WebhookDelivery.State.PENDING
    )
    if not pending.update(locked_until=lock):
        return None
    delivery = WebhookDelivery.objects.select_related("webhook").get(pk=delivery_id)
    reason = delivery.webhook.disabled_reason
    if reason:  # queued before its registrar lost the admin role: not sent
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            state=WebhookDelivery.State.FAILED, error=reason[:500], locked_until=None
        )
        return WebhookDelivery.State.FAILED
    outcome = _send(delivery)
    return _record(delivery, outcome, now)


def _send(delivery: WebhookDelivery) -> sending.Outcome:
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "webhook-id": delivery.event_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": sending.sign(
            delivery.webhook.secret, delivery.event_id, timestamp, body
        ),
    }
    return sending.post(
        delivery.webhook.url,
        body,
        headers,
        allow_private=settings.WEBHOOK_ALLOW_PRIVATE,
        timeout_s=settings.WEBHOOK_TIMEOUT_S,
        max_bytes=settings.WEBHOOK_RESPONSE_MAX_BYTES,
    )


def _record(delivery: WebhookDelivery, outcome: sending.Outcome, now: datetime) -> str:
    attempts = delivery.attempts + 1
    if outcome.ok:
        state, next_at = WebhookDelivery.State.SUCCEEDED, None
    elif attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        state, next_at = WebhookDelivery.State.FAILED, None
    else:
        state, next_at = WebhookDelivery.State.PENDING, now + retry_delay(attempts)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        state=state,
        attempts=attempts,
        next_attempt_at=next_at,
        locked_until=None,
        last_attempt_at=timezone.now(),
        response_status=outcome.status,
        response_excerpt=outcome.excerpt,
        error=outcome.error[:500],
        duration_ms=outcome.duration_ms,
    )
    return state


def retry_delay(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: the base, doubled each time."""
    return timedelta(seconds=settings.WEBHOOK_RETRY_BASE_S * 2 ** (attempts - 1))


def webhook_deliver_due(*, now: datetime | None = None) -> dict[int, str | None]:
    """Send the deliveries whose retry is due (and any whose first task was lost), oldest
    first, at most DUE_PER_SWEEP. Returns {delivery id: new state}."""
    now = now or timezone.now()
    due = WebhookDelivery.objects.due(now).order_by("next_attempt_at")
    ids = list(due.values_list("pk", flat=True)[:DUE_PER_SWEEP])
    return {pk: webhook_deliver(delivery_id=pk, now=now) for pk in ids}
