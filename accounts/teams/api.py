"""The teams API: /api/v1/teams/ and /api/v1/teams/{id}/members/.

A team is seen by its members (anyone else's is a 404) and changed by its admins (a member or
viewer gets 403); both through the permission layer (accounts.teams.access). Members are addressed
by user id; they are added by username or email."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.teams import access, services
from accounts.teams.models import Membership, Role, Team, TeamInvitation
from accounts.throttles import ThrottledActionsMixin
from tunerproject import serializers as strict


class MemberSerializer(strict.ModelSerializer):
    user_id = serializers.IntegerField(source="user.pk", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = Membership
        fields = ["user_id", "username", "email", "role", "added_at"]
        read_only_fields = fields


class InvitationSerializer(strict.ModelSerializer):
    status = serializers.SerializerMethodField(help_text="Always `invited` (pending)")
    email = serializers.CharField(read_only=True, help_text="The address, as invited")
    invited_by = serializers.CharField(source="invited_by.username", read_only=True, default=None)
    expires_at = serializers.DateTimeField(read_only=True)
    detail = serializers.SerializerMethodField(help_text="What happens next, in words")

    class Meta:
        model = TeamInvitation
        fields = ["id", "status", "email", "role", "invited_by", "created_at", "expires_at"]
        fields += ["detail"]
        read_only_fields = fields

    def get_status(self, invitation: TeamInvitation) -> str:
        return "invited"

    def get_detail(self, invitation: TeamInvitation) -> str:
        return (
            f"Invitation mailed to {invitation.email}: whoever has an account with this address "
            f"joins as {invitation.role} at their next sign-in, or once they sign up with it."
        )


class TeamSerializer(strict.ModelSerializer):
    role = serializers.SerializerMethodField(help_text="Your role in this team")
    members = serializers.SerializerMethodField(help_text="How many members it has")

    class Meta:
        model = Team
        fields = ["id", "name", "role", "members", "created_at"]
        read_only_fields = ["id", "role", "members", "created_at"]

    def get_role(self, team: Team) -> str:
        # Only members see a team (Team.objects.visible_to): each has a role in it.
        return cast(str, team.role_of(self.context["request"].user))

    def get_members(self, team: Team) -> int:
        return team.memberships.count()


class TeamWriteSerializer(strict.Serializer):
    name = serializers.CharField(max_length=100)


class TeamPatchSerializer(strict.Serializer):
    name = serializers.CharField(max_length=100, required=False, help_text="A new name")


class MemberAddSerializer(strict.Serializer):
    username = serializers.CharField(
        required=False,
        max_length=254,
        help_text="Their username: added at once (an address here is invited, as `email`)",
    )
    email = serializers.RegexField(
        f"^{services.EMAIL_PATTERN}$",
        required=False,
        max_length=254,
        trim_whitespace=False,
        error_messages={"invalid": "Not an email address (name@domain, without spaces)."},
        help_text="Or an email address: invited (202), whether or not it has an account",
    )
    role = serializers.ChoiceField(choices=Role.choices, default=Role.MEMBER)
    one_of_required = ["username", "email"]  # the schema's anyOf (tunerproject.schema)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not (attrs.get("username") or attrs.get("email")):
            raise serializers.ValidationError({"username": ["Give a username or an email."]})
        return attrs


class MemberRoleSerializer(strict.Serializer):
    role = serializers.ChoiceField(choices=Role.choices, required=False, help_text="A new role")


class LastAdmin(APIException):
    """A team always keeps an admin: a conflict with the team's state, not a bad request."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "last_admin"


def _team(request: Request, pk: int, *, change: bool = False) -> Team:
    team = access.get_visible_or_404(Team.objects.all(), request.user, pk)
    if change:
        access.require_team_change(request.user, team)
    return team


class TeamListView(APIView):
    @extend_schema(responses=TeamSerializer(many=True))
    def get(self, request: Request) -> Response:
        """The teams you are in, with your role in each."""
        teams = Team.objects.visible_to(request.user)
        return Response(TeamSerializer(teams, many=True, context={"request": request}).data)

    @extend_schema(request=TeamWriteSerializer, responses={201: TeamSerializer})
    def post(self, request: Request) -> Response:
        """Create a team; you become its admin."""
        data = TeamWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        by = cast(User, request.user)  # signed in: IsAuthenticated is the default
        team = services.team_create(by=by, name=data.validated_data["name"])
        body = TeamSerializer(team, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)


class TeamDetailView(APIView):
    @extend_schema(responses=TeamSerializer)
    def get(self, request: Request, pk: int) -> Response:
        team = _team(request, pk)
        return Response(TeamSerializer(team, context={"request": request}).data)

    @extend_schema(request=TeamPatchSerializer, responses=TeamSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        """Rename the team (admins); without `name`, nothing changes."""
        team = _team(request, pk, change=True)
        data = TeamPatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if "name" in data.validated_data:
            services.team_rename(team=team, name=data.validated_data["name"])
        return Response(TeamSerializer(team, context={"request": request}).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        """Delete the team (admins); its datasets and jobs go back to their owners."""
        services.team_delete(team=_team(request, pk, change=True))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberListView(ThrottledActionsMixin, APIView):
    pagination_class = None
    throttled_actions = {"post": "invite"}

    @extend_schema(responses=MemberSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        team = _team(request, pk)
        rows = team.memberships.select_related("user")
        return Response(MemberSerializer(rows, many=True).data)

    @extend_schema(
        request=MemberAddSerializer,
        responses={201: MemberSerializer, 202: InvitationSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        """Add a user by username with a role: viewer, member or admin (admins). An email
        address is invited instead: 202 and the invitation, the same answer whether or not an
        account has it; it takes effect when that account signs in or signs up."""
        team = _team(request, pk, change=True)
        data = MemberAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        added = services.team_member_add(
            team=team,
            identifier=values.get("email") or values.get("username"),
            role=values["role"],
            by=cast(User, request.user),
            field="email" if values.get("email") else "username",
        )
        if isinstance(added, TeamInvitation):
            return Response(InvitationSerializer(added).data, status=status.HTTP_202_ACCEPTED)
        return Response(MemberSerializer(added).data, status=status.HTTP_201_CREATED)


class InvitationListView(APIView):
    pagination_class = None

    @extend_schema(responses=InvitationSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        """The team's pending invitations by email (its members see them)."""
        team = _team(request, pk)
        return Response(InvitationSerializer(team.invitations.pending(), many=True).data)


class InvitationDetailView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int, invitation_id: int) -> Response:
        """Withdraw an invitation (admins)."""
        team = _team(request, pk, change=True)
        if not services.team_invitation_revoke(team=team, invitation_id=invitation_id):
            return Response(
                {"detail": f"No pending invitation with id {invitation_id} in this team."},
                status=status.HTTP_404_NOT_FOUND,
            )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberDetailView(APIView):
    def _membership(
        self, request: Request, pk: int, user_id: int, *, leaving_allowed: bool = False
    ) -> Membership | None:
        team = _team(request, pk)
        membership = team.memberships.select_related("user").filter(user_id=user_id).first()
        if membership is None:
            return None
        # Anyone may leave a team; only admins change or remove someone else.
        if not (leaving_allowed and membership.user_id == request.user.pk):
            access.require_team_change(request.user, team)
        return membership

    @extend_schema(request=MemberRoleSerializer, responses=MemberSerializer)
    def patch(self, request: Request, pk: int, user_id: int) -> Response:
        """Change a member's role (admins); without `role`, nothing changes. Demoting the
        team's last admin is a 409."""
        membership = self._membership(request, pk, user_id)
        if membership is None:
            return _no_member(user_id)
        data = MemberRoleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if "role" in data.validated_data:
            with _last_admin_conflict():
                services.team_member_set_role(
                    membership=membership, role=data.validated_data["role"]
                )
        return Response(MemberSerializer(membership).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int, user_id: int) -> Response:
        """Remove a member (admins), or leave the team yourself."""
        membership = self._membership(request, pk, user_id, leaving_allowed=True)
        if membership is None:
            return _no_member(user_id)
        with _last_admin_conflict():
            services.team_member_remove(membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


@contextmanager
def _last_admin_conflict() -> Iterator[None]:
    try:
        yield
    except DjangoValidationError as exc:
        if not services.is_last_admin_error(exc):
            raise
        raise LastAdmin({"role": exc.message_dict["role"]}) from exc


def _no_member(user_id: int) -> Response:
    return Response(
        {"detail": f"No member with user id {user_id} in this team."},
        status=status.HTTP_404_NOT_FOUND,
    )
