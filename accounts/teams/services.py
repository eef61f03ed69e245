"""Team workflows: create, rename, delete a team; add, re-role and remove its members.

Who may call them is decided before, by the permission layer (accounts.teams.access): these only
keep the team coherent (a team always keeps an admin, a user is in a team once)."""

import re
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.teams.models import Membership, Role, Team, TeamInvitation, normalise_email
from tunerproject.ids import is_id, unknown
from tunerproject.mail import send_after_response

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def user_find(*, identifier: str | None, field: str = "username") -> "User":
    """The active user whose username is `identifier`; a ValidationError under `field`
    otherwise (the same words whether or not such an account exists but is inactive). An email
    address is never looked up: it is invited (`team_invite`, jobs.sharing's `job_invite`)."""
    text = (identifier or "").strip()
    user = get_user_model().objects.filter(is_active=True, username=text).first() if text else None
    if user is None:
        raise unknown(
            field, f"No user with username {text!r}. To invite someone, give their email."
        )
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


# An address as the API states it (the schema's pattern): something, @, something, no spaces.
# Whether it can receive mail is the mail server's business: an invitation that never arrives
# is never claimed, and lapses.
EMAIL_PATTERN = r"[^@\s\x00]+@[^@\s\x00]+"


def is_email(identifier: str | None) -> bool:
    """An identifier shaped like an address names one (invited); anything else a username."""
    return re.fullmatch(EMAIL_PATTERN, (identifier or "").strip()) is not None


def team_member_add(
    *, team: Team, identifier: str | None, role: str, by: "User", field: str = "username"
) -> Membership | TeamInvitation:
    """A username: add that user with `role` at once. An email: invite the address."""
    if is_email(identifier):
        return team_invite(team=team, email=identifier or "", role=role, by=by, field=field)
    return _member_add(team=team, identifier=identifier, role=role)


@transaction.atomic
def _member_add(*, team: Team, identifier: str | None, role: str) -> Membership:
    """Add the user named by username with `role`; refuse one already in the team."""
    user = user_find(identifier=identifier)
    _check_role(role)
    if Membership.objects.filter(team=team, user=user).exists():
        raise ValidationError({"username": [f"{user.username} is already in “{team.name}”."]})
    return Membership.objects.create(team=team, user=user, role=role)


@transaction.atomic
def team_invite(
    *, team: Team, email: str, role: str, by: "User", field: str = "email"
) -> TeamInvitation:
    """1. Save (or renew, with the new role) the invitation of `email` to `team`.
    2. Mail the address, after the response.
    The same work and the same answer whether an account has this address, has none, or is in
    the team already: the invitation takes effect at its next sign-in (`invitations_claim`)."""
    _check_role(role)
    address = valid_email(email, field=field)
    invitation, _ = TeamInvitation.objects.update_or_create(
        team=team,
        email=address,
        defaults={"role": role, "invited_by": by, "created_at": timezone.now()},
    )
    context = {"invitation": invitation, "team": team, "by": by, "site": settings.SITE_URL}
    send_after_response(
        render_to_string("accounts/email/team_invitation_subject.txt", context).strip(),
        render_to_string("accounts/email/team_invitation.txt", context),
        address,
    )
    return invitation


def team_invitation_revoke(*, team: Team, invitation_id: int | str) -> bool:
    """Withdraw a pending invitation; False when the team has none with this id."""
    if not is_id(invitation_id):
        return False
    return bool(team.invitations.filter(pk=invitation_id).delete()[0])


@transaction.atomic
def invitations_claim(*, user: "User") -> list[TeamInvitation]:
    """Make the pending team invitations of the user's address memberships (a team they are in
    already keeps their role); the ones that took effect. Expired ones are dropped."""
    if not user.email:
        return []
    invitations = TeamInvitation.objects.for_email(user.email)
    joined = []
    for invitation in invitations.pending().select_related("team"):
        _, created = Membership.objects.get_or_create(
            team=invitation.team, user=user, defaults={"role": invitation.role}
        )
        if created:
            joined.append(invitation)
    invitations.delete()
    return joined


def valid_email(email: str, *, field: str = "email") -> str:
    """The address in lower case, or a ValidationError under `field`."""
    address = normalise_email(email)
    if not is_email(address) or len(address) > 254:
        raise ValidationError({field: [f"{email!r} is not an email address (name@domain)."]})
    return address


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


LAST_ADMIN = "the team's last admin"


def is_last_admin_error(exc: ValidationError) -> bool:
    """Whether `exc` is the refusal to leave a team without an admin."""
    return any(LAST_ADMIN in message for message in exc.messages)


def _keep_an_admin(membership: Membership, verb: str) -> None:
    # Lock the team's admin rows so two admins demoting each other cannot leave none.
    admins = list(
        Membership.objects.select_for_update()
        .filter(team_id=membership.team_id, role=Role.ADMIN)
        .values_list("pk", flat=True)
    )
    if admins == [membership.pk]:
        raise ValidationError(
            {"role": [f"Cannot {verb} {LAST_ADMIN}: make someone else admin first."]}
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
