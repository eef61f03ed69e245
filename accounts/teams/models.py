"""Teams and their members (re-exported by accounts.models, which Django loads as the app's
models). What a role may do is decided in one place, accounts.teams.access; here a role is only a
rank."""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Self

from django.conf import settings
from django.db import models
from django.utils import timezone

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    MEMBER = "member", "Member"
    ADMIN = "admin", "Admin"


# viewer < member < admin: a check asks for a least role and compares ranks.
ROLE_RANK = {Role.VIEWER: 1, Role.MEMBER: 2, Role.ADMIN: 3}


def roles_at_least(role: Role) -> list[Role]:
    return [r for r, rank in ROLE_RANK.items() if rank >= ROLE_RANK[role]]


class TeamQuerySet(models.QuerySet["Team"]):
    def visible_to(self, user: "User | AnonymousUser") -> Self:
        """The teams `user` belongs to, in any role; anyone else's team reads as unknown."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user)


class Team(models.Model):
    name = models.CharField(max_length=100)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="teams_created",
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    def role_of(self, user: "User | AnonymousUser") -> str | None:
        """The user's role in this team, or None when they are not in it."""
        if not user.is_authenticated:
            return None
        return self.memberships.filter(user=user).values_list("role", flat=True).first()


class MembershipQuerySet(models.QuerySet["Membership"]):
    def team_ids(
        self, user: "User", *, least: Role = Role.VIEWER, lazy: bool = True
    ) -> "models.QuerySet[Membership, int] | list[int]":
        """The ids of the teams where `user` holds at least the role `least`: a subquery, or
        with lazy=False a list read now (a list lets PostgreSQL use the team_id index inside an
        OR, which a subquery does not; see Job.objects.visible_to)."""
        ids = self.filter(user=user, role__in=roles_at_least(least)).values_list(
            "team_id", flat=True
        )
        return ids if lazy else list(ids)


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.MEMBER)
    added_at = models.DateTimeField(default=timezone.now)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["team", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="one_membership_per_team_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"


class InvitationQuerySet(models.QuerySet[Any]):
    def pending(self) -> Self:
        """Not yet past INVITATION_DAYS."""
        since = timezone.now() - timedelta(days=settings.INVITATION_DAYS)
        return self.filter(created_at__gte=since)

    def for_email(self, email: str) -> Self:
        return self.filter(email=normalise_email(email))


def normalise_email(email: str) -> str:
    return email.strip().lower()


class EmailInvitation(models.Model):
    """An invitation sent to an address, not to an account: whoever adds someone by email gets
    the same answer whether or not an account has that address (so the answer discloses none).
    It takes effect when the address's account signs in, or signs up and activates, within
    INVITATION_DAYS (accounts.invitations). A team membership or a job share (jobs.models)."""

    email = models.EmailField(max_length=254)  # lower case
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["created_at", "pk"]

    @property
    def expires_at(self) -> datetime:
        return self.created_at + timedelta(days=settings.INVITATION_DAYS)


class TeamInvitation(EmailInvitation):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.MEMBER)

    class Meta(EmailInvitation.Meta):
        constraints = [
            models.UniqueConstraint(fields=["team", "email"], name="one_invitation_per_team_email")
        ]

    def __str__(self) -> str:
        return f"{self.email} invited to {self.team} ({self.role})"
