"""Account workflows that touch several records."""

from django.contrib import messages

from accounts.models import ApiToken, AuditEvent


def account_password_changed(*, user, request):
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
