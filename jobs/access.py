"""The one permission layer: who sees and who changes a dataset, a job or a team.

Seeing is a QuerySet method, so lists, searches and lookups are scoped in the database:
`Job.objects.visible_to(user)`, `Dataset.objects.visible_to(user)`, `Team.objects.visible_to(user)`.
Changing is one check, `may_change(user, obj)`. Every view, serializer and download goes through
these two; a new endpoint needs one import and one call:

    from jobs import access
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

from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.teams.models import ROLE_RANK, Membership, Role, Team
from jobs.models import Dataset, Job

VIEWER_REFUSAL = (
    "You can see this {thing} but not change it: ask an admin of team “{team}” for the member role."
)


def role_in(user, team_id):
    """The user's role in the team with this id, or None (no team, not a member, anonymous)."""
    if team_id is None or not getattr(user, "is_authenticated", False):
        return None
    return (
        Membership.objects.filter(team_id=team_id, user=user).values_list("role", flat=True).first()
    )


def _at_least(role, least):
    return role is not None and ROLE_RANK[role] >= ROLE_RANK[least]


def may_change(user, obj):
    """May `user` change this dataset, job or team (anything more than look at it)?"""
    if not getattr(user, "is_authenticated", False):
        return False
    if isinstance(obj, Team):
        return _at_least(role_in(user, obj.pk), Role.ADMIN)
    if isinstance(obj, Job | Dataset):
        if obj.owner_id == user.pk:
            return True
        return _at_least(role_in(user, obj.team_id), Role.MEMBER)
    raise TypeError(f"No change rule for {type(obj).__name__}")


def may_manage(user, obj):
    """May `user` move this dataset or job between spaces, or share it? Its owner only."""
    return getattr(user, "is_authenticated", False) and obj.owner_id == user.pk


def may_add_to_team(user, team_id):
    """May `user` put a dataset or job into this team (upload, launch, move)? Members and
    admins may; a viewer may not."""
    return _at_least(role_in(user, team_id), Role.MEMBER)


def get_visible_or_404(queryset, user, pk):
    """One object of `queryset` that `user` may see, or Http404 (DRF answers it as a JSON 404)."""
    obj = queryset.visible_to(user).filter(pk=pk).first() if _is_id(pk) else None
    if obj is None:
        raise Http404(f"No {queryset.model._meta.verbose_name} with id {pk}")
    return obj


def require_change(user, obj):
    """PermissionDenied (a 403) unless `user` may change `obj`; call after the object was found
    through visible_to, so that someone who cannot even see it got a 404 first."""
    if not may_change(user, obj):
        raise PermissionDenied(_refusal(obj))


def require_manage(user, obj):
    if not may_manage(user, obj):
        thing = obj._meta.verbose_name
        raise PermissionDenied(f"Only the owner of this {thing} can move or share it.")


def _refusal(obj):
    if isinstance(obj, Team):
        return f"Only an admin of team “{obj.name}” can change the team and its members."
    thing = obj._meta.verbose_name
    if not obj.team_id:
        return f"This {thing} was shared with you read-only: only its owner can change it."
    return VIEWER_REFUSAL.format(thing=thing, team=obj.team.name)


def _is_id(pk):
    try:
        return 0 < int(pk) <= 2**31 - 1
    except (TypeError, ValueError):
        return False
