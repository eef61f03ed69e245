"""The teams API: /api/v1/teams/ and /api/v1/teams/{id}/members/.

A team is seen by its members (anyone else's is a 404) and changed by its admins (a member or
viewer gets 403); both through the permission layer (accounts.teams.access). Members are addressed
by user id; they are added by username or email."""

from typing import Any, cast

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.teams import access, services
from accounts.teams.models import Membership, Role, Team


class MemberSerializer(serializers.ModelSerializer):
    user_id = serializers.IntegerField(source="user.pk", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = Membership
        fields = ["user_id", "username", "email", "role", "added_at"]
        read_only_fields = fields


class TeamSerializer(serializers.ModelSerializer):
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


class TeamWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class MemberAddSerializer(serializers.Serializer):
    username = serializers.CharField(
        required=False, max_length=254, help_text="The user's username (or email)"
    )
    email = serializers.CharField(required=False, max_length=254, help_text="Or their email")
    role = serializers.ChoiceField(choices=Role.choices, default=Role.MEMBER)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not (attrs.get("username") or attrs.get("email")):
            raise serializers.ValidationError({"username": ["Give a username or an email."]})
        return attrs


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


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

    @extend_schema(request=TeamWriteSerializer, responses=TeamSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        """Rename the team (admins)."""
        team = _team(request, pk, change=True)
        data = TeamWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.team_rename(team=team, name=data.validated_data["name"])
        return Response(TeamSerializer(team, context={"request": request}).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        """Delete the team (admins); its datasets and jobs go back to their owners."""
        services.team_delete(team=_team(request, pk, change=True))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberListView(APIView):
    pagination_class = None

    @extend_schema(responses=MemberSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        team = _team(request, pk)
        rows = team.memberships.select_related("user")
        return Response(MemberSerializer(rows, many=True).data)

    @extend_schema(request=MemberAddSerializer, responses={201: MemberSerializer})
    def post(self, request: Request, pk: int) -> Response:
        """Add a user by username or email with a role: viewer, member or admin (admins)."""
        team = _team(request, pk, change=True)
        data = MemberAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        membership = services.team_member_add(
            team=team,
            identifier=values.get("username") or values.get("email"),
            role=values["role"],
        )
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


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
        """Change a member's role (admins)."""
        membership = self._membership(request, pk, user_id)
        if membership is None:
            return _no_member(user_id)
        data = MemberRoleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.team_member_set_role(membership=membership, role=data.validated_data["role"])
        return Response(MemberSerializer(membership).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int, user_id: int) -> Response:
        """Remove a member (admins), or leave the team yourself."""
        membership = self._membership(request, pk, user_id, leaving_allowed=True)
        if membership is None:
            return _no_member(user_id)
        services.team_member_remove(membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _no_member(user_id: int) -> Response:
    return Response(
        {"detail": f"No member with user id {user_id} in this team."},
        status=status.HTTP_404_NOT_FOUND,
    )
