"""The one permission layer: who sees and who changes a dataset, a job or a team.

Seeing is a QuerySet method, so lists, searches and lookups are scoped in the database:
`Job.objects.visible_to(user)`, `Dataset.objects.visible_to(user)`, `Team.objects.visible_to(user)`.
Changing is one check, `may_change(user, obj)`. Every view, serializer and download goes through
these two; a new endpoint needs one import and one call:

    from jobs.sharing import access
    job = access.get_visible_or_404(Job.objects.all(), request.user, pk)   # 404 if unseen
    access.require_change(request.user, job)                               # 403 for a viewer

The rules:
- a dataset or job is seen by its owner, by every member of its team (any role) and, for a job,
  by each user it is shared with (read-only);
- it is changed (launched into, cancelled, cloned, deleted, uploaded to) by its owner and by its
  team's members and admins; a viewer or a share only looks, plays and downloads;
- only the owner moves it between spaces or shares it (`may_manage`);
- a team is seen by its members and changed (renamed, deleted, members managed) by its admins;
- a webhook is seen and managed by its owner while personal, and by the team's admins (the
  `may_change(user, team)` rule) while a team's: `Webhook.objects.visible_to(user)`.
Anyone else gets 404, never 403: another user's things do not exist for them.
"""

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied

from accounts.teams.access import (
    at_least,
    get_visible_or_404,
    may_change_team,
    role_in,
    team_refusal,
)
from accounts.teams.models import Role, Team
from jobs.models import Dataset, Evaluation, Job

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

__all__ = [
    "get_visible_or_404",
    "may_add_to_team",
    "may_change",
    "may_manage",
    "require_change",
    "require_manage",
    "role_in",
]

VIEWER_REFUSAL = (
    "You can see this {thing} but not change it: ask an admin of team “{team}” for the member role."
)


def may_change(user: "User | AnonymousUser", obj: Job | Dataset | Evaluation | Team) -> bool:
    """May `user` change this dataset, job, evaluation or team (anything more than look at it)?"""
    if not user.is_authenticated:
        return False
    if isinstance(obj, Team):
        return may_change_team(user, obj)
    if isinstance(obj, Job | Dataset | Evaluation):
        if obj.owner_id == user.pk:
            return True
        return at_least(role_in(user, obj.team_id), Role.MEMBER)
    raise TypeError(f"No change rule for {type(obj).__name__}")


def may_manage(user: "User | AnonymousUser", obj: Job | Dataset) -> bool:
    """May `user` move this dataset or job between spaces, or share it? Its owner only."""
    return user.is_authenticated and obj.owner_id == user.pk


def may_add_to_team(user: "User | AnonymousUser", team_id: int | None) -> bool:
    """May `user` put a dataset or job into this team (upload, launch, move)? Members and
    admins may; a viewer may not."""
    return at_least(role_in(user, team_id), Role.MEMBER)


def require_change(user: "User | AnonymousUser", obj: Job | Dataset | Evaluation | Team) -> None:
    """PermissionDenied (a 403) unless `user` may change `obj`; call after the object was found
    through visible_to, so that someone who cannot even see it got a 404 first."""
    if not may_change(user, obj):
        raise PermissionDenied(_refusal(obj))


def require_manage(user: "User | AnonymousUser", obj: Job | Dataset) -> None:
    if not may_manage(user, obj):
        thing = obj._meta.verbose_name
        raise PermissionDenied(f"Only the owner of this {thing} can move or share it.")


def _refusal(obj: Job | Dataset | Evaluation | Team) -> str:
    if isinstance(obj, Team):
        return team_refusal(obj)
    thing = obj._meta.verbose_name
    if not obj.team_id:
        return f"This {thing} was shared with you read-only: only its owner can change it."
    team_name = obj.team.name if obj.team else ""
    return VIEWER_REFUSAL.format(thing=thing, team=team_name)
