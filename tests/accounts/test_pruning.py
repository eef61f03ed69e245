"""Records that matter only for a while are pruned by an hourly schedule: failed sign-ins and
the audit log after AUDIT_RETENTION_DAYS, throttle counts once their window ended, invitations
by email (to a team or to a job's share) after INVITATION_DAYS."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule

from accounts.models import AuditEvent, FailedLogin, Team, TeamInvitation, ThrottleCount
from accounts.tasks import PRUNE_FUNC, prune_records_task
from jobs.models import ShareInvitation
from tests.jobs.factories import make_dataset, make_job

pytestmark = pytest.mark.django_db


def test_old_sign_in_records_and_ended_throttle_windows_are_pruned(owner, settings):
    settings.AUDIT_RETENTION_DAYS = 30
    now = timezone.now()
    old, recent = now - timedelta(days=31), now - timedelta(days=29)
    for when in (old, recent):
        FailedLogin.objects.create(username="ada", created_at=when)
        AuditEvent.objects.create(user=owner, username="ada", kind="sign_in", created_at=when)
    ThrottleCount.objects.create(key="ended", count=3, expires_at=now - timedelta(seconds=1))
    ThrottleCount.objects.create(key="open", count=1, expires_at=now + timedelta(minutes=1))

    settings.INVITATION_DAYS = 14
    team = Team.objects.create(name="Lab")
    job = make_job(owner, make_dataset(owner))
    lapsed, pending = now - timedelta(days=15), now - timedelta(days=13)
    TeamInvitation.objects.create(team=team, email="old@example.com", created_at=lapsed)
    TeamInvitation.objects.create(team=team, email="new@example.com", created_at=pending)
    ShareInvitation.objects.create(job=job, email="old@example.com", created_at=lapsed)

    assert prune_records_task() == {
        "failed_logins": 1,
        "audit_events": 1,
        "throttle_counts": 1,
        "invitations": 2,
    }
    assert list(TeamInvitation.objects.values_list("email", flat=True)) == ["new@example.com"]
    assert not ShareInvitation.objects.exists()
    assert list(FailedLogin.objects.values_list("created_at", flat=True)) == [recent]
    assert AuditEvent.objects.filter(created_at=recent).count() == 1
    assert list(ThrottleCount.objects.values_list("key", flat=True)) == ["open"]


def test_the_schedule_exists_once_after_migrate():
    assert Schedule.objects.filter(func=PRUNE_FUNC).count() == 1
