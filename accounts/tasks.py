"""django-q2 tasks of accounts: the hourly pruning of records that only matter for a while.

Failed sign-ins and the audit log are kept AUDIT_RETENTION_DAYS (a lock-out reads only the last
LOGIN_LOCKOUT_MINUTES, the profile shows the newest events); throttle counts go once their
window has ended; invitations by email once INVITATION_DAYS have passed (every kind: the team's
here, and any other app's that extends EmailInvitation, as jobs' share invitations). Without
it these tables grow with every request an attacker sends.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_q.models import Schedule

from accounts.models import AuditEvent, FailedLogin, ThrottleCount
from accounts.teams.models import EmailInvitation

PRUNE_SCHEDULE_NAME = "llmtuner: prune old sign-in records"
PRUNE_FUNC = "accounts.tasks.prune_records_task"


def prune_records_task() -> dict[str, int]:
    """Delete what is past its retention; how many rows of each kind."""
    now = timezone.now()
    cutoff = now - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    return {
        "failed_logins": FailedLogin.objects.filter(created_at__lt=cutoff).delete()[0],
        "audit_events": AuditEvent.objects.filter(created_at__lt=cutoff).delete()[0],
        "throttle_counts": ThrottleCount.objects.filter(expires_at__lt=now).delete()[0],
        "invitations": sum(
            model.objects.filter(
                created_at__lt=now - timedelta(days=settings.INVITATION_DAYS)
            ).delete()[0]
            for model in EmailInvitation.__subclasses__()
        ),
    }


def ensure_schedule(**kwargs: object) -> None:
    """post_migrate handler: the pruning Schedule exists exactly once, every hour."""
    schedule, _ = Schedule.objects.get_or_create(
        name=PRUNE_SCHEDULE_NAME,
        defaults={"func": PRUNE_FUNC, "schedule_type": Schedule.HOURLY, "repeats": -1},
    )
    if schedule.func != PRUNE_FUNC:
        Schedule.objects.filter(pk=schedule.pk).update(func=PRUNE_FUNC)
