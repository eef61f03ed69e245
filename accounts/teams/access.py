"""Who sees and who changes a team: the team half of the permission layer.

A team is seen by its members (`Team.objects.visible_to(user)`) and changed (renamed, deleted,
members managed) by its admins. The datasets and jobs in a team follow the same roles through
jobs.sharing.access, which builds on `role_in` and `at_least` here. Anyone who may not see a
thing gets 404, never 403.
"""

from typing import TYPE_CHECKING, Protocol, TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404

from accounts.teams.models import ROLE_RANK, Membership, Role, Team
from tunerproject.ids import is_id

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

_M_co = TypeVar("_M_co", bound=Model, covariant=True)


class VisibleQuerySet(Protocol[_M_co]):
    """A queryset whose model has the "visible to" rule (Job, Dataset, Team, Webhook...)."""

    @property
    def model(self) -> type[_M_co]: ...

    def visible_to(self, user: "User | AnonymousUser") -> QuerySet[_M_co]: ...


def role_in(user: "User | AnonymousUser", team_id: int | None) -> str | None:
    """The user's role in the team with this id, or None (no team, not a member, anonymous)."""
    if team_id is None or not user.is_authenticated:
        return None
    memberships = Membership.objects.filter(team_id=team_id, user=user)
    return memberships.values_list("role", flat=True).first()


def at_least(role: str | None, least: str) -> bool:
    return role is not None and ROLE_RANK[Role(role)] >= ROLE_RANK[Role(least)]


def may_change_team(user: "User | AnonymousUser", team: Team) -> bool:
    """May `user` rename or delete the team and manage its members? Its admins may."""
    return user.is_authenticated and at_least(role_in(user, team.pk), Role.ADMIN)


def team_refusal(team: Team) -> str:
    return f"Only an admin of team “{team.name}” can change the team and its members."


def require_team_change(user: "User | AnonymousUser", team: Team) -> None:
    """PermissionDenied (a 403) unless `user` is an admin of the team."""
    if not may_change_team(user, team):
        raise PermissionDenied(team_refusal(team))


def get_visible_or_404(
    queryset: VisibleQuerySet[_M_co], user: "User | AnonymousUser", pk: object
) -> _M_co:
    """One object of `queryset` that `user` may see (its model's `visible_to`), or Http404 (DRF
    answers it as a JSON 404)."""
    obj = queryset.visible_to(user).filter(pk=pk).first() if is_id(pk) else None
    if obj is None:
        raise Http404(f"No {queryset.model._meta.verbose_name} with id {pk}")
    return obj
