"""Rate limits for the actions one client could use to hurt everyone: token creation, sign-up,
password-reset mail, dataset upload, job launch and generation.

Each action has two allowances (settings.THROTTLE_RATES, from THROTTLE_<ACTION>_<USER|IP>): one
per user (the signed-in user, or the username or email a signed-out form names) and one per IP
address. The API uses them as DRF throttles; portal forms and the OpenAI-compatible API call
`wait_seconds` (the portal through `portal_throttle`, which answers 429 with Retry-After), so an
action is counted the same whatever the door.

Counts are rows (ThrottleCount), one per client, action and window of the rate (a fixed window:
"30/min" counts within each clock minute). Each request adds one with a single INSERT ... ON
CONFLICT DO UPDATE ... RETURNING, so concurrent requests are counted exactly: of 41 at once
against 30 a minute, 30 go ahead.
"""

import hashlib
import math
import random
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.shortcuts import render
from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle

from accounts.client_ip import client_ip
from accounts.throttle_counts import ThrottleCount

PRUNE_CHANCE = 0.01  # a request in a hundred deletes the rows of windows that have ended


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
        # Hashed: a user-supplied name may hold characters or a length a key cannot.
        digest = hashlib.sha256(ident.encode("utf-8", "replace")).hexdigest()[:32]
        return f"throttle:{self.scope}:{digest}"

    def allow_request(self, request, view):
        """Count this request in its window (atomically) and say whether it is within the rate."""
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        window = int(time.time() // self.duration)
        self.window_end = (window + 1) * self.duration
        expires = datetime.fromtimestamp(self.window_end, tz=timezone.get_current_timezone())
        return count_hit(f"{key}:{window}", expires) <= self.num_requests

    def wait(self):
        return max(0.0, self.window_end - time.time())


def count_hit(key: str, expires: datetime) -> int:
    """Add one to the row `key` (made at 1 if new) and return its count, in one statement."""
    table, column = (connection.ops.quote_name(n) for n in (ThrottleCount._meta.db_table, "key"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({column}, count, expires_at) VALUES (%s, 1, %s) "
            f"ON CONFLICT ({column}) DO UPDATE SET count = {table}.count + 1 RETURNING count",
            [key, expires],
        )
        count = cursor.fetchone()[0]
    if random.random() < PRUNE_CHANCE:
        ThrottleCount.objects.filter(expires_at__lt=timezone.now() - timedelta(minutes=1)).delete()
    return count


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
