"""Rate limits for the actions one client could use to hurt everyone: token creation, sign-up,
password-reset mail, dataset upload, job launch and generation.

Each action has two allowances (settings.THROTTLE_RATES, from THROTTLE_<ACTION>_<USER|IP>): one
per user (the signed-in user, or the username or email a signed-out form names) and one per IP
address. The API uses them as DRF throttles; portal forms call `portal_throttle`, which applies
the same two throttles and answers 429 with Retry-After. Counts live in the shared cache.
"""

import hashlib
import math

from django.conf import settings
from django.shortcuts import render
from rest_framework.throttling import SimpleRateThrottle

from accounts.client_ip import client_ip


class ActionThrottle(SimpleRateThrottle):
    """One allowance of one action: `by` is "user" or "ip"."""

    def __init__(self, action, by, who=None):
        self.action, self.by, self.who = action, by, who
        self.scope = f"{action}_{by}"
        super().__init__()

    def get_rate(self):
        # Read per request (not at import, as DRF does) so a changed setting applies at once.
        return settings.THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        if self.by == "ip":
            ident = client_ip(request)
        elif request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = self.who or getattr(view, "throttle_who", lambda r: None)(request)
            ident = f"name:{str(ident).strip().lower()}" if ident else None
        if not ident:
            return None
        # Hashed: a user-supplied name may hold characters or a length a cache key cannot.
        digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
        return f"throttle:{self.scope}:{digest}"


def throttles_for(action, who=None):
    return [ActionThrottle(action, "user", who), ActionThrottle(action, "ip", who)]


def wait_seconds(request, action, who=None, view=None):
    """None when the request may go ahead (and it is counted); otherwise seconds to wait."""
    waits = [
        throttle.wait()
        for throttle in throttles_for(action, who)
        if not throttle.allow_request(request, view)
    ]
    if not waits:
        return None
    return max(1, math.ceil(max(w or 0 for w in waits)))


def portal_throttle(request, action, who=None):
    """A 429 page with Retry-After when a portal form is used too often; None otherwise."""
    wait = wait_seconds(request, action, who)
    if wait is None:
        return None
    response = render(
        request,
        "accounts/throttled.html",
        {"wait_seconds": wait, "minutes": math.ceil(wait / 60)},
        status=429,
    )
    response["Retry-After"] = str(wait)
    return response


class ThrottledActionsMixin:
    """For API views: `throttled_actions` maps a view action (or HTTP method) to a throttle."""

    throttled_actions: dict[str, str] = {}

    def get_throttles(self):
        key = getattr(self, "action", None) or self.request.method.lower()
        action = self.throttled_actions.get(key)
        return throttles_for(action) if action else []
