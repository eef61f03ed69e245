"""Account workflows that touch several records."""

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.tokens import default_token_generator
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import ApiToken, AuditEvent
from tunerproject.mail import send_after_response

if TYPE_CHECKING:
    from django.contrib.auth.forms import UserCreationForm
    from django.contrib.auth.models import User
    from django.http import HttpRequest


def account_sign_up(*, form: "UserCreationForm[User]", request: "HttpRequest") -> "User | None":
    """1. An address that already has an account: mail its owner how to sign in or reset the
       password, and create nothing.
    2. A new address: save the account inactive and mail a link that activates it.
    The visitor sees the same page either way, after the same work: the password is hashed
    either way (the hash is most of the time a sign-up takes, so a taken address answering
    without it would tell that the account exists); the difference goes by email, after the
    response (tunerproject.mail: an SMTP exchange on the request path would show it too)."""
    email = form.cleaned_data["email"]
    existing = get_user_model().objects.filter(email__iexact=email).first()
    if existing is not None:
        make_password(form.cleaned_data.get("password1"))  # the same work as a new account
        # and a row written, as a new account's: its owner sees the attempt on their profile
        AuditEvent.record(AuditEvent.Kind.SIGN_UP_TAKEN, user=existing, request=request)
        _mail(request, email, "accounts/email/signup_existing", {"user": existing})
        return None
    user = form.save(commit=False)
    user.is_active = False
    user.save()
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = reverse("signup-activate", args=[uid, token])
    _mail(request, email, "accounts/email/signup_activate", {"user": user, "link": link})
    return user


def account_invite(*, user: "User", request: "HttpRequest") -> None:
    """Mail a staff-created account a link to choose its password (the reset link: it works for
    an account without a usable password, and only once)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = reverse("password_reset_confirm", args=[uid, token])
    _mail(request, user.email, "accounts/email/invitation", {"user": user, "link": link})


def _mail(request: "HttpRequest", to: str, template: str, context: dict[str, Any]) -> None:
    context = {**context, "base": request.build_absolute_uri("/").rstrip("/")}
    subject = render_to_string(f"{template}_subject.txt", context).strip()
    send_after_response(subject, render_to_string(f"{template}.txt", context), to)


def account_password_changed(*, user: "User", request: "HttpRequest") -> int:
    """1. Revoke every usable API token: whoever knew the old password may have made one.
    2. Write the change to the audit log.
    3. Tell the user on the next page how many tokens were revoked."""
    tokens = list(ApiToken.objects.for_user(user).usable())
    for token in tokens:
        token.revoke(request=request, why="password changed")
    AuditEvent.record(
        AuditEvent.Kind.PASSWORD_CHANGED,
        user=user,
        request=request,
        detail=f"{len(tokens)} API token{'s' if len(tokens) != 1 else ''} revoked",
    )
    if tokens:
        messages.warning(
            request,
            f"Your {len(tokens)} API token{'s were' if len(tokens) != 1 else ' was'} revoked "
            "with the old password; programs using them must get new ones.",
        )
    return len(tokens)
