"""Spaces and shares: which team a dataset or job belongs to, and read-only shares of a job.

The checks of who may call these are the permission layer's (jobs.sharing.access); these workflows
check what the request itself names: the team a thing goes into must be one where its owner is at
least a member, and a share names an existing other user."""

from typing import TYPE_CHECKING, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError

from accounts.teams.models import Team
from accounts.teams.services import user_find
from jobs.models import Dataset, Job
from jobs.models.share import JobShare
from jobs.sharing import access
from tunerproject.ids import is_id

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
        raise ValidationError({field: [f"No team with id {team_id} among your teams."]})
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


def job_share(*, job: Job, identifier: str | None) -> JobShare:
    """Share `job` read-only with the user named by username or email (again is harmless)."""
    user = user_find(identifier=identifier)
    if user.pk == job.owner_id:
        raise ValidationError({"username": ["This is your own job: no need to share it."]})
    share, _ = JobShare.objects.get_or_create(job=job, user=user)
    return share


def job_unshare(*, job: Job, user_id: int) -> bool:
    """Revoke the share of `job` with this user; False when there was none (an id no user can
    have, too large for the column, included: the database driver would overflow on it)."""
    if not is_id(user_id):
        return False
    deleted, _ = JobShare.objects.filter(job=job, user_id=user_id).delete()
    return bool(deleted)
