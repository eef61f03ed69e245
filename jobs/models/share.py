"""A read-only share of one job with one user (re-exported by jobs.models). What a share allows
is decided in jobs.sharing.access, like everything else about who sees what."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.teams.models import EmailInvitation


class JobShare(models.Model):
    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="shares")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jobs_shared_with_me"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["job", "user"], name="one_share_per_job_user")
        ]

    def __str__(self) -> str:
        return f"job {self.job_id} shared with {self.user}"


class ShareInvitation(EmailInvitation):
    """A read-only share of `job` for whichever account has `email` when it signs in."""

    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="share_invitations")

    class Meta(EmailInvitation.Meta):
        constraints = [
            models.UniqueConstraint(fields=["job", "email"], name="one_invitation_per_job_email")
        ]

    def __str__(self) -> str:
        return f"job {self.job_id} shared with {self.email} (invited)"
