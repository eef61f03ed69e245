"""The profile page's storage section: the user's storage against the quota (accounts.pages)."""

from typing import Any

from django.http import HttpRequest

from jobs.quotas.services import storage_usage


def storage_section(request: HttpRequest) -> dict[str, Any]:
    """The profile page needs a signed-in user (login_required), so the user is a real one."""
    if not request.user.is_authenticated:
        return {}
    return {"usage": storage_usage(request.user)}
