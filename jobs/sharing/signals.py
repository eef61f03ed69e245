"""Share invitations take effect when their address signs in (the portal's sign-in, the sign-up
link that activates an account, or the API's token endpoint: all send `user_logged_in`)."""

from django.contrib import messages
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from jobs.sharing.services import share_invitations_claim


@receiver(user_logged_in, dispatch_uid="jobs.sharing.claim_invitations")
def claim_share_invitations(sender, request, user, **kwargs):
    shared = share_invitations_claim(user=user)
    if shared and request is not None and hasattr(request, "_messages"):
        names = ", ".join(f"“{invitation.job.name}”" for invitation in shared)
        messages.info(request, f"Shared with you, read-only: {names}.")
