"""The datasets REST API (/api/v1/datasets/…).

Every query starts from Dataset.objects.visible_to(request.user) (jobs.sharing.access), so a
dataset the user may not see is a 404, and a change asks jobs.sharing.access.may_change first (403
for a viewer). Serializers validate and shape; jobs.datasets.services does the work.
"""

from typing import cast

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.mixins import ListModelMixin
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.throttles import ThrottledActionsMixin
from jobs.datasets import reader, services
from jobs.datasets.responses import dataset_file_response
from jobs.datasets.serializers import (
    DatasetSerializer,
    DatasetUpdateSerializer,
    DatasetUploadSerializer,
    PreviewExampleSerializer,
)
from jobs.models import Dataset
from jobs.sharing import access
from jobs.sharing.services import space_move
from tunerproject.parsers import FormParser, JSONParser


def _user_datasets(request: Request) -> QuerySet[Dataset]:
    return Dataset.objects.visible_to(request.user).select_related("owner")


def _dataset(request: Request, pk: int, *, change: bool = False) -> Dataset:
    """A dataset the user may see (else 404) and, with change, may change (else 403)."""
    dataset = access.get_visible_or_404(Dataset.objects.select_related("team"), request.user, pk)
    if change:
        access.require_change(request.user, dataset)
    return dataset


class DatasetListView(ThrottledActionsMixin, ListModelMixin, GenericAPIView):
    """Your datasets (newest first); POST a multipart upload to add one.

    The upload is validated in the same request: the response is the dataset with its report
    (status "valid" or "invalid", errors with their line and field, statistics)."""

    serializer_class = DatasetSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]  # the limited ones
    throttled_actions = {"post": "upload"}

    def get_queryset(self) -> QuerySet[Dataset]:
        return _user_datasets(self.request)

    def get(self, request: Request) -> Response:
        return self.list(request)

    @extend_schema(
        request={"multipart/form-data": DatasetUploadSerializer}, responses={201: DatasetSerializer}
    )
    def post(self, request: Request) -> Response:
        services.dataset_check_request_size(content_length=request.META.get("CONTENT_LENGTH"))
        upload = DatasetUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        dataset = services.dataset_create(
            owner=cast(User, request.user),  # signed in: IsAuthenticated is the default
            upload=data["file"],
            name=data.get("name", ""),
            column_mapping=data.get("column_mapping") or None,
            encoding=data.get("encoding", ""),
            skip_invalid_rows=data["skip_invalid_rows"],
            team_id=data.get("team"),
        )
        body = DatasetSerializer(dataset, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)


class DatasetDetailView(APIView):
    """One dataset with its validation report and statistics; PATCH renames it or (its owner)
    moves it between spaces; DELETE removes it and its file."""

    @extend_schema(responses=DatasetSerializer)
    def get(self, request: Request, pk: int) -> Response:
        dataset = _dataset(request, pk)
        return Response(DatasetSerializer(dataset, context={"request": request}).data)

    @extend_schema(request=DatasetUpdateSerializer, responses=DatasetSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        dataset = _dataset(request, pk, change=True)
        data = DatasetUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if "team" in data.validated_data:
            access.require_manage(request.user, dataset)
            by = cast(User, request.user)
            space_move(obj=dataset, by=by, team_id=data.validated_data["team"])
        if data.validated_data.get("name"):
            dataset.name = data.validated_data["name"].strip()
            dataset.save(update_fields=["name"])
        return Response(DatasetSerializer(dataset, context={"request": request}).data)

    @extend_schema(
        responses={204: None, 400: OpenApiResponse(description="Used by a queued or running job")}
    )
    def delete(self, request: Request, pk: int) -> Response:
        dataset = _dataset(request, pk, change=True)
        services.dataset_delete(dataset=dataset)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DatasetPreviewView(APIView):
    """The first examples exactly as the model sees them, with the parts that carry the loss."""

    @extend_schema(
        responses=inline_serializer(
            "DatasetPreview",
            {
                "kind": serializers.CharField(),
                "detected_format": serializers.CharField(),
                "examples": PreviewExampleSerializer(many=True),
            },
        )
    )
    def get(self, request: Request, pk: int) -> Response:
        dataset = _dataset(request, pk)
        examples = reader.preview_examples(dataset)
        return Response(
            {
                "kind": dataset.kind,
                "detected_format": dataset.detected_format,
                "examples": PreviewExampleSerializer(examples, many=True).data,
            }
        )


class DatasetDownloadView(APIView):
    """The file as uploaded, under its original name."""

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, pk: int) -> FileResponse:
        dataset = _dataset(request, pk)
        return dataset_file_response(dataset)
