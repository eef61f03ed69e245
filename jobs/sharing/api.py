"""Read-only shares of a job: /api/v1/jobs/{id}/shares/ and /api/v1/jobs/{id}/shares/{user_id}/.

Only the job's owner lists, adds and revokes its shares (jobs.sharing.access.require_manage): anyone
who cannot see the job gets 404, anyone else who can see it 403."""

from typing import cast

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.throttles import ThrottledActionsMixin
from jobs.models import Job
from jobs.models.share import JobShare, ShareInvitation
from jobs.sharing import access, services
from tunerproject import serializers as strict


class ShareSerializer(strict.ModelSerializer):
    user_id = serializers.IntegerField(source="user.pk", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = JobShare
        fields = ["user_id", "username", "created_at"]
        read_only_fields = fields


class ShareInvitationSerializer(strict.ModelSerializer):
    status = serializers.SerializerMethodField(help_text="Always `invited` (pending)")
    email = serializers.CharField(read_only=True, help_text="The address, as invited")
    invited_by = serializers.CharField(source="invited_by.username", read_only=True, default=None)
    expires_at = serializers.DateTimeField(read_only=True)
    detail = serializers.SerializerMethodField(help_text="What happens next, in words")

    class Meta:
        model = ShareInvitation
        fields = ["id", "status", "email", "invited_by", "created_at", "expires_at", "detail"]
        read_only_fields = fields

    def get_status(self, invitation: ShareInvitation) -> str:
        return "invited"

    def get_detail(self, invitation: ShareInvitation) -> str:
        return (
            f"Invitation mailed to {invitation.email}: whoever has an account with this address "
            "sees the job, read-only, from their next sign-in, or once they sign up with it."
        )


class ShareAddSerializer(strict.Serializer):
    username = serializers.CharField(
        max_length=254,
        help_text="Their username (shared at once) or an email address (invited: 202)",
    )


def _owned_job(request: Request, pk: int) -> Job:
    job = access.get_visible_or_404(Job.objects.all(), request.user, pk)
    access.require_manage(request.user, job)
    return job


class JobShareListView(ThrottledActionsMixin, APIView):
    pagination_class = None
    throttled_actions = {"post": "invite"}

    @extend_schema(responses=ShareSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        """Who this job is shared with (read-only)."""
        job = _owned_job(request, pk)
        rows = job.shares.select_related("user")
        return Response(ShareSerializer(rows, many=True).data)

    @extend_schema(
        request=ShareAddSerializer,
        responses={201: ShareSerializer, 202: ShareInvitationSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        """Share the job read-only with one user: they see it, its metrics and samples, use the
        playground and download the model, and change nothing. An email address is invited
        instead (202), the same answer whether or not an account has it."""
        job = _owned_job(request, pk)
        data = ShareAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        share = services.job_share(
            job=job, identifier=data.validated_data["username"], by=cast(User, request.user)
        )
        if isinstance(share, ShareInvitation):
            return Response(ShareInvitationSerializer(share).data, status=status.HTTP_202_ACCEPTED)
        return Response(ShareSerializer(share).data, status=status.HTTP_201_CREATED)


class JobInvitationListView(APIView):
    pagination_class = None

    @extend_schema(responses=ShareInvitationSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        """The job's pending share invitations by email (its owner sees them)."""
        job = _owned_job(request, pk)
        rows = job.share_invitations.pending().select_related("invited_by")
        return Response(ShareInvitationSerializer(rows, many=True).data)


class JobInvitationDetailView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int, invitation_id: int) -> Response:
        """Withdraw a share invitation."""
        job = _owned_job(request, pk)
        if not services.job_invitation_revoke(job=job, invitation_id=invitation_id):
            return Response(
                {"detail": f"No pending invitation with id {invitation_id} for this job."},
                status=status.HTTP_404_NOT_FOUND,
            )
        return Response(status=status.HTTP_204_NO_CONTENT)


class JobShareDetailView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int, user_id: int) -> Response:
        """Revoke the share: the user no longer sees the job."""
        job = _owned_job(request, pk)
        if not services.job_unshare(job=job, user_id=user_id):
            return Response(
                {"detail": f"This job is not shared with user id {user_id}."},
                status=status.HTTP_404_NOT_FOUND,
            )
        return Response(status=status.HTTP_204_NO_CONTENT)
