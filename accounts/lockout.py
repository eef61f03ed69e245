"""Lock-out after repeated failed sign-ins, shared by the portal, the admin and the token API.

Failures are rows (FailedLogin) so every web process sees the same count. Three limits inside
LOGIN_LOCKOUT_MINUTES, each refusing until the oldest failure it counts leaves the window:
- an account from one address: LOGIN_FAILURE_LIMIT failures lock that account *from that
  address* only, so someone guessing a password cannot lock its owner out everywhere;
- one address, any accounts: LOGIN_ADDRESS_FAILURE_LIMIT failures lock the address (one
  client spraying many usernames);
- one account, any addresses: LOGIN_ACCOUNT_FAILURE_LIMIT failures lock the account for
  everyone. Ten times the first by default: a guesser must control many addresses to reach
  it, and at that rate guesses through many addresses are still bounded per window.

Counting is atomic without a lock: each attempt first writes its row (committed at once), then
counts. The k-th row to commit sees at least k rows, so of any number of concurrent attempts at
most the limit go on to check the password; a success deletes the account's rows again.
"""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Q
from django.utils import timezone

from accounts.client_ip import client_ip
from accounts.models import FailedLogin


def _window_start():
    return timezone.now() - timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)


def seconds_locked(username, ip, *, own_attempt=False):
    """0 when sign-in may be tried; otherwise how many seconds until it may. With own_attempt,
    the caller's own failure row is among those counted (begin_attempt)."""
    extra = 1 if own_attempt else 0
    user = Q(username__iexact=username or "")
    scopes = [(user, settings.LOGIN_ACCOUNT_FAILURE_LIMIT)]
    if ip:
        address = Q(ip_address=ip)
        scopes += [
            (user & address, settings.LOGIN_FAILURE_LIMIT),
            (address, settings.LOGIN_ADDRESS_FAILURE_LIMIT),
        ]
    recent = FailedLogin.objects.filter(created_at__gte=_window_start())
    waits = []
    for match, limit in scopes:
        limit += extra
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
    return FailedLogin.objects.create(username=(username or "")[:150], ip_address=ip)


def begin_attempt(request, username):
    """Count this attempt as a failure before the password is checked (see the module's note).
    Returns the seconds to wait, 0 when the password may be checked. The attempt's row stays as
    the failure unless sign-in succeeds (clear_failures); `request` is marked so the failure
    signal does not record it twice."""
    ip = client_ip(request)
    attempt = record_failure(username, ip)
    # Our own row is among those counted, so one more than a limit means "locked".
    wait = seconds_locked(username, ip, own_attempt=True)
    if wait > 0:
        attempt.delete()  # a refused attempt checked nothing, so it does not extend the lock
        return wait
    request.lockout_attempt = attempt
    return 0


def clear_failures(username):
    FailedLogin.objects.filter(username__iexact=username).delete()


def lockout_message(seconds):
    minutes = max(1, round(seconds / 60))
    return (
        f"Too many failed sign-ins. Signing in here is locked for about {minutes} "
        f"minute{'s' if minutes != 1 else ''}; try again later."
    )


class LockoutMixin:
    """Refuses to even check the password while the username or IP is locked out."""

    def clean(self):
        username = self.cleaned_data.get("username")
        if username is None:
            return super().clean()  # the form reports the missing field; nothing was checked
        wait = begin_attempt(self.request, username)
        if wait > 0:
            self.locked_for = wait  # the sign-in page answers 429 with Retry-After
            raise forms.ValidationError(lockout_message(wait), code="locked_out")
        return super().clean()


class LockoutAuthenticationForm(LockoutMixin, AuthenticationForm):
    pass


class LockoutAdminAuthenticationForm(LockoutMixin, AdminAuthenticationForm):
    pass
