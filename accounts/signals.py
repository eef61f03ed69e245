from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from accounts import lockout
from accounts.models import AuditEvent
from accounts.teams.services import invitations_claim


@receiver(user_login_failed)
def remember_failed_sign_in(sender, credentials, request=None, **kwargs):
    username = credentials.get("username", "")
    if getattr(request, "lockout_attempt", None) is None:
        lockout.record_failure(username, lockout.client_ip(request))
    # Shown to the account's owner when the name is theirs; kept for operators either way.
    user = get_user_model().objects.filter(username__iexact=username or "").first()
    AuditEvent.record(AuditEvent.Kind.SIGN_IN_FAILED, user=user, username=username, request=request)


@receiver(user_logged_in)
def forget_failed_sign_ins(sender, request, user, **kwargs):
    lockout.clear_failures(user.get_username())
    AuditEvent.record(AuditEvent.Kind.SIGN_IN, user=user, request=request)


@receiver(user_logged_in, dispatch_uid="accounts.claim_team_invitations")
def claim_team_invitations(sender, request, user, **kwargs):
    """Team invitations to the user's address take effect at sign-in (activation included)."""
    joined = invitations_claim(user=user)
    if joined and request is not None and hasattr(request, "_messages"):
        for invitation in joined:
            messages.info(
                request, f"You joined the team “{invitation.team.name}” as {invitation.role}."
            )
