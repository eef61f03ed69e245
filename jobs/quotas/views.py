"""What the profile page shows of quotas: the user's storage against the quota."""

from typing import Any

from django.http import HttpRequest

from jobs.quotas.services import storage_usage


def profile_context(request: HttpRequest) -> dict[str, Any]:
    """The profile page needs a signed-in user (login_required), so the user is a real one."""
    if not request.user.is_authenticated:
        return {}
    return {"usage": storage_usage(request.user)}
