"""GET /api/v1/workers/: the worker registry, for operators (staff) only; anyone else gets 403."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs.models.worker import Worker
from tunerproject import serializers as strict


class WorkerSerializer(strict.ModelSerializer):
    live = serializers.BooleanField(source="is_live", help_text="Seen within the heartbeat timeout")
    current_job: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True
    )

    class Meta:
        model = Worker
        fields = [
            "id",
            "name",
            "host",
            "pool",
            "kind",
            "device_name",
            "memory_bytes",
            "live",
            "stopping",
            "current_job",
            "started_at",
            "last_seen",
            "stopped_at",
        ]
        read_only_fields = fields


class WorkerListView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(responses=WorkerSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Every registered worker, live ones first (`?live=1`: only those)."""
        workers = Worker.objects.select_related(None).order_by("stopped_at", "pool", "name")
        if request.query_params.get("live") in ("1", "true"):
            workers = workers.live()
        return Response(WorkerSerializer(workers[:500], many=True).data)
