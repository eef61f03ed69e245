"""Lock-out after repeated failed sign-ins, shared by the portal, the admin and the token API.

Failures are rows (FailedLogin) so every web process sees the same count. A username or an IP
address with LOGIN_FAILURE_LIMIT failures inside LOGIN_LOCKOUT_MINUTES is refused until the
oldest of them leaves the window.
"""

import ipaddress
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Q
from django.utils import timezone

from accounts.models import FailedLogin


def client_ip(request):
    if request is None:
        return None
    # Behind a trusted proxy the client is the last hop of X-Forwarded-For: the proxy appends
    # the address it saw, and anything before it is whatever the client chose to send.
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.split(",")[-1].strip()
        if _is_address(last):
            return last
    return request.META.get("REMOTE_ADDR")


def _is_address(text):
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _window_start():
    return timezone.now() - timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)


def seconds_locked(username, ip):
    """0 when sign-in may be tried; otherwise how many seconds until it may."""
    limit = settings.LOGIN_FAILURE_LIMIT
    recent = FailedLogin.objects.filter(created_at__gte=_window_start())
    waits = []
    for match in (Q(username__iexact=username or ""), Q(ip_address=ip) if ip else None):
        if match is None:
            continue
        times = list(
            recent.filter(match)
            .order_by("-created_at")
            .values_list("created_at", flat=True)[:limit]
        )
        if len(times) >= limit:
            unlock_at = times[-1] + timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
            waits.append((unlock_at - timezone.now()).total_seconds())
    return max([0, *waits])


def record_failure(username, ip):
    FailedLogin.objects.create(username=(username or "")[:150], ip_address=ip)


def clear_failures(username):
    FailedLogin.objects.filter(username__iexact=username).delete()


def lockout_message(seconds):
    minutes = max(1, round(seconds / 60))
    return (
        f"Too many failed sign-ins. This account or address is locked for about {minutes} "
        f"minute{'s' if minutes != 1 else ''}; try again later."
    )


class LockoutMixin:
    """Refuses to even check the password while the username or IP is locked out."""

    def clean(self):
        username = self.cleaned_data.get("username")
        wait = seconds_locked(username, client_ip(self.request))
        if wait > 0:
            raise forms.ValidationError(lockout_message(wait), code="locked_out")
        return super().clean()


class LockoutAuthenticationForm(LockoutMixin, AuthenticationForm):
    pass


class LockoutAdminAuthenticationForm(LockoutMixin, AdminAuthenticationForm):
    pass
