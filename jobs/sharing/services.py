"""Spaces and shares: which team a dataset or job belongs to, and read-only shares of a job.

The checks of who may call these are the permission layer's (jobs.sharing.access); these workflows
check what the request itself names: the team a thing goes into must be one where its owner is at
least a member, and a share names an existing other user."""

from typing import TYPE_CHECKING, TypeVar

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.teams.models import Team
from accounts.teams.services import is_email, user_find, valid_email
from jobs.models import Dataset, Job
from jobs.models.share import JobShare, ShareInvitation
from jobs.sharing import access
from tunerproject.ids import is_id, unknown
from tunerproject.mail import send_after_response

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# What lives in a space: a dataset or a job (space_move returns what it was given).
Spaced = TypeVar("Spaced", Dataset, Job)


def team_for(*, user: "User", team_id: int | str | None, field: str = "team") -> Team | None:
    """The Team a new or moved dataset or job of `user` goes into, or None for the personal
    space: a team they are not in reads as unknown (400), one where they are a viewer is a 403."""
    if team_id in (None, ""):
        return None
    team = Team.objects.visible_to(user).filter(pk=team_id).first() if is_id(team_id) else None
    if team is None:
        raise unknown(field, f"No team with id {team_id} among your teams.")
    if not access.may_add_to_team(user, team.pk):
        raise PermissionDenied(
            f"You are a viewer of team “{team.name}”: only members and admins add datasets and "
            f"jobs to it."
        )
    return team


def space_move(*, obj: Spaced, by: "User", team_id: int | str | None) -> Spaced:
    """Move a dataset or job of `by` into a team (or, with None, back to their personal space)."""
    team = team_for(user=by, team_id=team_id)
    obj.team = team
    obj.save(update_fields=["team"])
    return obj


def job_share(*, job: Job, identifier: str | None, by: "User") -> JobShare | ShareInvitation:
    """Share `job` read-only: with the user named by username at once (again is harmless), or
    with whichever account has the email given, by invitation (`job_invite`)."""
    if is_email(identifier):
        return job_invite(job=job, email=identifier or "", by=by)
    user = user_find(identifier=identifier)
    if user.pk == job.owner_id:
        raise ValidationError({"username": ["This is your own job: no need to share it."]})
    share, _ = JobShare.objects.get_or_create(job=job, user=user)
    return share


def job_invite(*, job: Job, email: str, by: "User", field: str = "username") -> ShareInvitation:
    """1. Save (or renew) the invitation of `email` to see `job`. 2. Mail the address after the
    response. The same answer whether or not an account has the address (the owner's own
    included: claiming one's own job's share changes nothing)."""
    address = valid_email(email, field=field)
    invitation, _ = ShareInvitation.objects.update_or_create(
        job=job, email=address, defaults={"invited_by": by, "created_at": timezone.now()}
    )
    context = {"invitation": invitation, "job": job, "by": by, "site": settings.SITE_URL}
    send_after_response(
        render_to_string("jobs/email/share_invitation_subject.txt", context).strip(),
        render_to_string("jobs/email/share_invitation.txt", context),
        address,
    )
    return invitation


def job_invitation_revoke(*, job: Job, invitation_id: int | str) -> bool:
    if not is_id(invitation_id):
        return False
    return bool(job.share_invitations.filter(pk=invitation_id).delete()[0])


@transaction.atomic
def share_invitations_claim(*, user: "User") -> list[ShareInvitation]:
    """Make the pending share invitations of the user's address shares; the ones that took
    effect (not their own jobs, not jobs already shared with them). Expired ones are dropped."""
    if not user.email:
        return []
    invitations = ShareInvitation.objects.for_email(user.email)
    shared = []
    for invitation in invitations.pending().select_related("job"):
        if invitation.job.owner_id == user.pk:
            continue
        _, created = JobShare.objects.get_or_create(job=invitation.job, user=user)
        if created:
            shared.append(invitation)
    invitations.delete()
    return shared


def job_unshare(*, job: Job, user_id: int) -> bool:
    """Revoke the share of `job` with this user; False when there was none (an id no user can
    have, too large for the column, included: the database driver would overflow on it)."""
    if not is_id(user_id):
        return False
    deleted, _ = JobShare.objects.filter(job=job, user_id=user_id).delete()
    return bool(deleted)
