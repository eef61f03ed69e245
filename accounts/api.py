from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import lockout
from accounts.models import ApiToken
from accounts.throttles import ThrottledActionsMixin
from tunerproject import serializers as strict


class TokenRequestSerializer(strict.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    name = serializers.CharField(required=False, max_length=100, help_text="Which client this is")
    read_only = serializers.BooleanField(  # type: ignore[assignment]
        default=False, help_text="A read-only token may only send GET, HEAD and OPTIONS requests"
    )


class MeSerializer(strict.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    is_staff = serializers.BooleanField()
    date_joined = serializers.DateTimeField()


class TokenCreateView(ThrottledActionsMixin, APIView):
    """Exchange a username and password for an API token (shown only in this response)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttled_actions = {"post": "token"}

    def throttle_who(self, request: Request) -> object:
        # Per username asked for, since nobody is signed in yet.
        data = request.data
        return data.get("username") if hasattr(data, "get") else None

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            201: inline_serializer(
                "TokenIssued",
                {
                    "token": serializers.CharField(),
                    "expiry": serializers.DateTimeField(),
                    "name": serializers.CharField(),
                    "read_only": serializers.BooleanField(),
                },
            )
        },
    )
    def post(self, request: Request) -> Response:
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        username = data.validated_data["username"]
        wait = lockout.begin_attempt(request, username)
        if wait > 0:
            return Response(
                {"detail": lockout.lockout_message(wait), "retry_after_seconds": round(wait)},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(round(wait))},
            )
        user = authenticate(request, username=username, password=data.validated_data["password"])
        if user is None:
            # 401: the credentials sent do not authenticate (the request itself is well formed)
            return Response(
                {"detail": "Unable to sign in with that username and password."},
                status=status.HTTP_401_UNAUTHORIZED,
                headers={"WWW-Authenticate": 'Token realm="api"'},
            )
        lockout.clear_failures(username)
        # A sign-in like the portal's: last_login, the audit log, invitations taking effect.
        user_logged_in.send(sender=type(user), request=request._request, user=user)
        token, raw = ApiToken.issue(
            user=user,
            name=data.validated_data.get("name") or "API client",
            read_only=data.validated_data["read_only"],
            request=request,
        )
        return Response(
            {
                "token": raw,
                "expiry": token.expires_at,
                "name": token.name,
                "read_only": token.read_only,
            },
            status=status.HTTP_201_CREATED,
        )


class LogoutView(APIView):
    """Revoke the token this request was made with."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={200: inline_serializer("LoggedOut", {"detail": serializers.CharField()})},
    )
    def post(self, request: Request) -> Response:
        if not isinstance(request.auth, ApiToken):
            return Response(
                {"detail": "Only a token can be revoked here; send Authorization: Token <key>."},
                status=400,
            )
        request.auth.revoke(request=request, why="signed out through the API")
        return Response({"detail": "Token revoked."})


class MeView(APIView):
    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)
