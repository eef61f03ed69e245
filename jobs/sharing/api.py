"""Read-only shares of a job: /api/v1/jobs/{id}/shares/ and /api/v1/jobs/{id}/shares/{user_id}/.

Only the job's owner lists, adds and revokes its shares (jobs.sharing.access.require_manage): anyone
who cannot see the job gets 404, anyone else who can see it 403."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs.models import Job
from jobs.models.share import JobShare
from jobs.sharing import access, services


class ShareSerializer(serializers.ModelSerializer):
    user_id = serializers.IntegerField(source="user.pk", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = JobShare
        fields = ["user_id", "username", "created_at"]
        read_only_fields = fields


class ShareAddSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=254, help_text="Their username or email")


def _owned_job(request: Request, pk: int) -> Job:
    job = access.get_visible_or_404(Job.objects.all(), request.user, pk)
    access.require_manage(request.user, job)
    return job


class JobShareListView(APIView):
    pagination_class = None

    @extend_schema(responses=ShareSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        """Who this job is shared with (read-only)."""
        job = _owned_job(request, pk)
        rows = job.shares.select_related("user")
        return Response(ShareSerializer(rows, many=True).data)

    @extend_schema(request=ShareAddSerializer, responses={201: ShareSerializer})
    def post(self, request: Request, pk: int) -> Response:
        """Share the job read-only with one user: they see it, its metrics and samples, use the
        playground and download the model, and change nothing."""
        job = _owned_job(request, pk)
        data = ShareAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        share = services.job_share(job=job, identifier=data.validated_data["username"])
        return Response(ShareSerializer(share).data, status=status.HTTP_201_CREATED)


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
