"""What other apps show on the profile page.

The profile page (accounts.views.profile) is the account's, but some of what it shows belongs to
other apps: storage against the quota, notification choices and webhooks (jobs). Those apps add
a context provider here when they load (jobs.apps), so accounts imports nothing of theirs.
"""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

ContextProvider = Callable[[HttpRequest], dict[str, Any]]

_providers: list[ContextProvider] = []


def add_profile_context(provider: ContextProvider) -> ContextProvider:
    """Register `provider(request) -> dict`, merged into the profile page's context."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def profile_context(request: HttpRequest) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for provider in _providers:
        context.update(provider(request))
    return context
