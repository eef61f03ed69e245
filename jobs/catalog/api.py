"""GET /api/v1/base-models/: the models a job can start from."""

from typing import cast

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs.catalog.services import catalog_for
from tunerproject import serializers as strict


class BaseModelEntrySerializer(strict.Serializer):
    """One entry of jobs.catalog.services.catalog_for(user); documents the shape for the schema."""

    key = serializers.CharField()
    display_name = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]
    description = serializers.CharField()
    parameters = serializers.IntegerField()
    layers = serializers.IntegerField()
    hidden_size = serializers.IntegerField()
    heads = serializers.IntegerField()
    context_length = serializers.IntegerField()
    available_offline = serializers.BooleanField()
    available = serializers.BooleanField()
    unavailable_reason = serializers.CharField(allow_blank=True, allow_null=True)
    memory_bytes = serializers.IntegerField()
    job_id = serializers.IntegerField(required=False, allow_null=True)


class BaseModelListView(APIView):
    """Models a job can start from: the catalog plus the succeeded jobs the user may see."""

    @extend_schema(responses=BaseModelEntrySerializer(many=True))
    def get(self, request: Request) -> Response:
        user = cast(User, request.user)  # signed in: IsAuthenticated, the default permission
        return Response(catalog_for(user))
