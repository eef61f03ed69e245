import hashlib
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Self

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.client_ip import client_ip

# Re-exported: Django loads accounts.models as the app's models.
from accounts.teams.models import Membership, Team, TeamInvitation  # noqa: F401
from accounts.throttle_counts import ThrottleCount  # noqa: F401

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.http import HttpRequest
    from rest_framework.request import Request

TOKEN_BYTES = 30


def hash_token(raw: str) -> str:
    # Tokens are long random strings, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def usable(self) -> Self:
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())

    def for_user(self, user: "User") -> Self:
        return self.filter(user=user)


class ApiToken(models.Model):
    """A bearer token for one API client. Only its SHA-256 hash is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="Which client uses it, e.g. 'laptop script'")
    prefix = models.CharField(max_length=8, help_text="First characters, to recognise the token")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    read_only = models.BooleanField(
        default=False, help_text="Only GET, HEAD and OPTIONS requests are allowed with it"
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(
        cls,
        *,
        user: "User",
        name: str,
        ttl_days: int | None = None,
        read_only: bool = False,
        request: "HttpRequest | Request | None" = None,
    ) -> tuple["ApiToken", str]:
        """Create a token and return (token, raw key); the raw key is never stored."""
        raw = secrets.token_urlsafe(TOKEN_BYTES)
        days = ttl_days or settings.API_TOKEN_TTL_DAYS
        token = cls.objects.create(
            user=user,
            name=name,
            prefix=raw[:8],
            key_hash=hash_token(raw),
            expires_at=timezone.now() + timedelta(days=days),
            read_only=read_only,
        )
        AuditEvent.record(
            AuditEvent.Kind.TOKEN_CREATED, user=user, request=request, detail=token.describe()
        )
        return token, raw

    def describe(self) -> str:
        access = "read-only" if self.read_only else "read-write"
        return f"“{self.name}” ({self.prefix}…, {access})"

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "active"

    def revoke(self, *, request: "HttpRequest | Request | None" = None, why: str = "") -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])
            detail = f"{self.describe()}{f': {why}' if why else ''}"
            AuditEvent.record(
                AuditEvent.Kind.TOKEN_REVOKED, user=self.user, request=request, detail=detail
            )


class FailedLogin(models.Model):
    """One failed sign-in, from the portal, the admin or the token endpoint."""

    username = models.CharField(max_length=150, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.username} from {self.ip_address} at {self.created_at:%Y-%m-%d %H:%M}"


class AuditEvent(models.Model):
    """Something that matters for an account's security, shown to its owner and to operators."""

    class Kind(models.TextChoices):
        SIGN_IN = "sign_in", "Signed in"
        SIGN_IN_FAILED = "sign_in_failed", "Failed sign-in"
        TOKEN_CREATED = "token_created", "API token created"
        TOKEN_REVOKED = "token_revoked", "API token revoked"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        SIGN_UP_TAKEN = "sign_up_taken", "Sign-up tried with this address"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    username = models.CharField(max_length=150, help_text="As typed, for failed sign-ins")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.username} at {self.created_at:%Y-%m-%d %H:%M}"

    @classmethod
    def record(
        cls,
        kind: str,
        *,
        user: "User | None" = None,
        username: str = "",
        request: "HttpRequest | Request | None" = None,
        detail: str = "",
    ) -> "AuditEvent":
        return cls.objects.create(
            kind=kind,
            user=user,
            username=(user.get_username() if user else username or "")[:150],
            ip_address=client_ip(request),
            detail=detail[:300],
        )
