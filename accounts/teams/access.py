"""Who sees and who changes a team: the team half of the permission layer.

A team is seen by its members (`Team.objects.visible_to(user)`) and changed (renamed, deleted,
members managed) by its admins. The datasets and jobs in a team follow the same roles through
jobs.sharing.access, which builds on `role_in` and `at_least` here. Anyone who may not see a
thing gets 404, never 403.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404

from accounts.teams.models import ROLE_RANK, Membership, Role, Team
from tunerproject.ids import is_id


def role_in(user, team_id: int | None) -> str | None:
    """The user's role in the team with this id, or None (no team, not a member, anonymous)."""
    if team_id is None or not getattr(user, "is_authenticated", False):
        return None
    memberships = Membership.objects.filter(team_id=team_id, user=user)
    return memberships.values_list("role", flat=True).first()


def at_least(role: str | None, least: str) -> bool:
    return role is not None and ROLE_RANK[Role(role)] >= ROLE_RANK[Role(least)]


def may_change_team(user, team: Team) -> bool:
    """May `user` rename or delete the team and manage its members? Its admins may."""
    return getattr(user, "is_authenticated", False) and at_least(role_in(user, team.pk), Role.ADMIN)


def team_refusal(team: Team) -> str:
    return f"Only an admin of team “{team.name}” can change the team and its members."


def require_team_change(user, team: Team) -> None:
    """PermissionDenied (a 403) unless `user` is an admin of the team."""
    if not may_change_team(user, team):
        raise PermissionDenied(team_refusal(team))


def get_visible_or_404(queryset: QuerySet, user, pk) -> Model:
    """One object of `queryset` that `user` may see (its model's `visible_to`), or Http404 (DRF
    answers it as a JSON 404)."""
    obj = queryset.visible_to(user).filter(pk=pk).first() if is_id(pk) else None  # type: ignore[attr-defined]
    if obj is None:
        raise Http404(f"No {queryset.model._meta.verbose_name} with id {pk}")
    return obj
