"""Team workflows: create, rename, delete a team; add, re-role and remove its members.

Who may call them is decided before, by the permission layer (accounts.teams.access): these only
keep the team coherent (a team always keeps an admin, a user is in a team once)."""

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.teams.models import Membership, Role, Team

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def user_find(*, identifier: str | None, field: str = "username") -> "User":
    """The active user whose username or email is `identifier`; a ValidationError under
    `field` otherwise (the same words whether or not such an account exists but is inactive)."""
    text = (identifier or "").strip()
    users = get_user_model().objects.filter(is_active=True)
    user = users.filter(username=text).first() if text else None
    if user is None and "@" in text:
        matches = list(users.filter(email__iexact=text)[:2])
        user = matches[0] if len(matches) == 1 else None
    if user is None:
        raise ValidationError({field: [f"No user with username or email {text!r}."]})
    return user


@transaction.atomic
def team_create(*, by: "User", name: str | None) -> Team:
    """1. Save the team. 2. Make its creator its first admin."""
    team = Team.objects.create(name=_clean_name(name), created_by=by)
    Membership.objects.create(team=team, user=by, role=Role.ADMIN)
    return team


def team_rename(*, team: Team, name: str | None) -> Team:
    team.name = _clean_name(name)
    team.save(update_fields=["name"])
    return team


def team_delete(*, team: Team) -> None:
    """Delete the team and its memberships; its datasets and jobs go back to their owners'
    personal spaces (the foreign keys are SET_NULL)."""
    team.delete()


@transaction.atomic
def team_member_add(*, team: Team, identifier: str | None, role: str) -> Membership:
    """Add the user named by username or email with `role`; refuse one already in the team."""
    user = user_find(identifier=identifier)
    _check_role(role)
    if Membership.objects.filter(team=team, user=user).exists():
        raise ValidationError({"username": [f"{user.username} is already in “{team.name}”."]})
    return Membership.objects.create(team=team, user=user, role=role)


@transaction.atomic
def team_member_set_role(*, membership: Membership, role: str) -> Membership:
    _check_role(role)
    if membership.role == Role.ADMIN and role != Role.ADMIN:
        _keep_an_admin(membership, "change the role of")
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def team_member_remove(*, membership: Membership) -> None:
    if membership.role == Role.ADMIN:
        _keep_an_admin(membership, "remove")
    membership.delete()


def _keep_an_admin(membership: Membership, verb: str) -> None:
    # Lock the team's admin rows so two admins demoting each other cannot leave none.
    admins = list(
        Membership.objects.select_for_update()
        .filter(team_id=membership.team_id, role=Role.ADMIN)
        .values_list("pk", flat=True)
    )
    if admins == [membership.pk]:
        raise ValidationError(
            {"role": [f"Cannot {verb} the team's last admin: make someone else admin first."]}
        )


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise ValidationError({"role": [f"Choose one of: {', '.join(Role.values)}."]})


def _clean_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["A team needs a name."]})
    max_length = Team._meta.get_field("name").max_length
    if max_length is not None and len(name) > max_length:
        raise ValidationError({"name": ["At most 100 characters."]})
    return name
