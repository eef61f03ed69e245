"""Records that matter only for a while are pruned by an hourly schedule: failed sign-ins and
the audit log after AUDIT_RETENTION_DAYS, throttle counts once their window ended."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule

from accounts.models import AuditEvent, FailedLogin, ThrottleCount
from accounts.tasks import PRUNE_FUNC, prune_records_task

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

    assert prune_records_task() == {"failed_logins": 1, "audit_events": 1, "throttle_counts": 1}
    assert list(FailedLogin.objects.values_list("created_at", flat=True)) == [recent]
    assert AuditEvent.objects.filter(created_at=recent).count() == 1
    assert list(ThrottleCount.objects.values_list("key", flat=True)) == ["open"]


def test_the_schedule_exists_once_after_migrate():
    assert Schedule.objects.filter(func=PRUNE_FUNC).count() == 1
