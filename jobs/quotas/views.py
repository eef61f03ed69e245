"""What the profile page shows of quotas: the user's storage against the quota."""

from django.http import HttpRequest

from jobs.quotas.services import storage_usage


def profile_context(request: HttpRequest) -> dict:
    return {"usage": storage_usage(request.user)}
