"""The jobs and base-models REST API (/api/v1/jobs/…, /api/v1/base-models/).

Every query starts from Job.objects.visible_to(request.user), so a job the user may not see is
a 404, and every change asks jobs.sharing.access first (a 403 for a team viewer or a read-only
share). The views validate with serializers and hand the work to jobs.training.services and
jobs.playground.generation.
"""

from collections.abc import Iterable
from typing import Any, TypeVar, cast

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from django.http import FileResponse, HttpResponseRedirect
from django.utils.http import urlencode
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, Throttled
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.throttles import ThrottledActionsMixin
from jobs.models import Job
from jobs.monitoring import live
from jobs.planning.autoconfig import job_estimate
from jobs.playground import client, generation
from jobs.sharing import access
from jobs.sharing.services import space_move
from jobs.training.responses import (
    Conflict,
    checkpoint_zip_response,
    messages_of,
    model_file_response,
)
from jobs.training.serializers import (
    CheckpointSerializer,
    GenerateRequestSerializer,
    GenerateResponseSerializer,
    JobCreateSerializer,
    JobEventSerializer,
    JobRequestSerializer,
    JobSerializer,
    JobSummarySerializer,
    JobUpdateSerializer,
    MetricPointSerializer,
    ModelQuery,
    cursor_page_serializer,
)
from jobs.training.services import job_cancel, job_delete, job_launch
from tunerproject import serializers as strict
from tunerproject.api import query_params

_Row = TypeVar("_Row")  # a queryset's row type (filter_queryset keeps it)


class InferenceUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "inference_unavailable"


class AfterStepQuery(strict.Serializer):
    after_id = serializers.IntegerField(
        default=0, help_text="Only points written after the point with this id (the cursor)"
    )
    after_step = serializers.IntegerField(default=-1, help_text="Only points with a larger step")


class DownloadNegotiation(DefaultContentNegotiation):
    """On a download, ?format= names the file's format, not a renderer: DRF's own reading of
    it would answer 404 for ?format=gguf. Errors still render as JSON."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = list(renderers)[0]  # DRF passes a list; its first renderer, as before
        return renderer, renderer.media_type


class AfterIdQuery(strict.Serializer):
    after = serializers.IntegerField(default=0, help_text="Only events with a larger id")


class JobListQuery(strict.Serializer):
    status = serializers.ChoiceField(choices=Job.Status.choices, required=False)
    search = serializers.CharField(required=False, help_text="Part of the job's name")
    full = serializers.BooleanField(
        required=False, default=False, help_text="Whole jobs instead of summaries"
    )


SUMMARY_SKIPS = [
    "notes",
    "requested_hyperparameters",
    "hyperparameters",
    "hyperparameter_reasons",
    "estimate",
    "actual",
    "samples",
]
MetricsPage = type(
    "MetricsPage",
    (cursor_page_serializer("MetricsCursorPage", MetricPointSerializer),),
    {"poll": serializers.URLField(help_text="Ask this URL for the points written since")},
)
EventsPage = cursor_page_serializer("EventsPage", JobEventSerializer)


class JobViewSet(
    ThrottledActionsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = JobSerializer
    lookup_value_converter = "int"  # keeps /jobs/estimate/ free for the estimate endpoint
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    throttled_actions = {"create": "launch", "generate": "generate"}

    def get_queryset(self) -> QuerySet[Job]:
        return Job.objects.visible_to(self.request.user).select_related(
            "dataset", "base_model", "owner"
        )

    def get_changeable_object(self) -> Job:
        """The job, if the user may see it (else 404) and change it (else 403)."""
        job = self.get_object()
        access.require_change(self.request.user, job)
        return job

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action == "partial_update":
            return JobUpdateSerializer
        if self.action == "list" and not self._list_query().get("full"):
            return JobSummarySerializer
        return JobSerializer

    def _list_query(self) -> dict[str, Any]:
        return cast(dict[str, Any], query_params(JobListQuery, self.request))

    @extend_schema(
        parameters=[JobListQuery],
        responses=JobSummarySerializer(many=True),
        description="The user's jobs, newest first, paginated; filter by status or name. Items "
        "are summaries (the fields a list needs, with `url` of the full job); `?full=1` gives "
        "whole jobs, whose fields include every summary field.",
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def filter_queryset(self, queryset: QuerySet[Job, _Row]) -> QuerySet[Job, _Row]:
        if self.action != "list":
            return queryset
        query = self._list_query()
        if not query.get("full"):
            queryset = queryset.defer(*SUMMARY_SKIPS)  # large JSON a summary never shows
        if "status" in query:
            queryset = queryset.filter(status=query["status"])
        if query.get("search"):
            queryset = queryset.filter(Q(name__icontains=query["search"]))
        return queryset

    @extend_schema(request=JobCreateSerializer, responses={201: JobSerializer})
    def create(self, request: Request) -> Response:
        """Launch a job: auto-configure what is left out, estimate, queue it."""
        data = JobCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = data.validated_data
        job = job_launch(
            owner=cast(User, request.user),  # signed in: IsAuthenticated is the default
            name=values["name"],
            dataset=values["dataset"],
            validation_dataset=values.get("validation_dataset"),
            base_model_key=values["base_model"],
            method=values["method"],
            hyperparameters=values.get("hyperparameters") or {},
            team_id=values.get("team"),
            pool=values.get("pool") or None,
            auto_evaluation=values["auto_evaluation"],
            evaluation_regex=values["evaluation_regex"],
        )
        job = self.get_queryset().get(pk=job.pk)
        return Response(self.get_serializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=JobUpdateSerializer, responses=JobSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Rename a job or edit its notes; its owner may also move it into one of their teams or
        back to their personal space (`team`). Nothing else about a job changes after launch."""
        job = self.get_changeable_object()
        data = JobUpdateSerializer(job, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        if "team" in request.data:
            access.require_manage(request.user, job)
            team_id = data.validated_data.pop("team")
            space_move(obj=job, by=cast(User, request.user), team_id=team_id)
        data.validated_data.pop("team", None)
        data.save()
        return Response(JobSerializer(job, context={"request": request}).data)

    @extend_schema(responses={204: None, 409: OpenApiResponse(description="Still running")})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Delete a finished job with its metrics, checkpoints and model files."""
        job = self.get_changeable_object()
        try:
            job_delete(job=job)
        except DjangoValidationError as exc:
            raise Conflict(" ".join(messages_of(exc))) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses={200: JobSerializer, 409: OpenApiResponse(description="Already finished")},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: int | None = None) -> Response:
        """Ask a queued or running job to stop; it stops at the next step."""
        job = self.get_changeable_object()
        try:
            job = job_cancel(job=job)
        except DjangoValidationError as exc:
            raise Conflict(" ".join(messages_of(exc))) from exc
        job.refresh_from_db()
        return Response(self.get_serializer(job).data)

    @extend_schema(parameters=[AfterStepQuery], responses=MetricsPage)
    @action(detail=True, methods=["get"])
    def metrics(self, request: Request, pk: int | None = None) -> Response:
        """Metric points in the order they were written, after the cursor `after_id` (and
        above `after_step`); `next` is set when more are waiting, and `poll` is the URL that
        asks for points written since this answer. Poll `poll` (or pass the last `id` seen as
        `after_id`): an eval point is written after the train point of the same step, so
        polling by step alone would miss it."""
        job = self.get_object()
        query = query_params(AfterStepQuery, request)
        rows, more = live.metrics_after(job, **query)
        cursor = {**query, "after_id": rows[-1].id if rows else query["after_id"]}
        if cursor["after_step"] == -1:
            del cursor["after_step"]
        response = _page(
            request,
            # DRF-stubs type .data as a ReturnDict whatever `many`; with many=True it is a list
            MetricPointSerializer(rows, many=True).data,  # type: ignore[arg-type]
            cursor if more else None,
        )
        response.data["poll"] = request.build_absolute_uri(f"{request.path}?{urlencode(cursor)}")
        return response

    @extend_schema(parameters=[AfterIdQuery], responses=EventsPage)
    @action(detail=True, methods=["get"])
    def events(self, request: Request, pk: int | None = None) -> Response:
        """The job's log after an event id, oldest first; `next` is set when more are waiting."""
        job = self.get_object()
        after = query_params(AfterIdQuery, request)["after"]
        rows, more = live.events_after(job, after_id=after)
        following = {"after": rows[-1].id} if more else None
        return _page(
            request,
            # DRF-stubs type .data as a ReturnDict whatever `many`; with many=True it is a list
            JobEventSerializer(rows, many=True).data,  # type: ignore[arg-type]
            following,
        )

    @extend_schema(responses=CheckpointSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def checkpoints(self, request: Request, pk: int | None = None) -> Response:
        job = self.get_object()
        return Response(CheckpointSerializer(live.checkpoints_after(job), many=True).data)

    @extend_schema(
        parameters=[ModelQuery],
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            (200, "text/plain"): OpenApiTypes.STR,
            400: OpenApiResponse(description="An unknown format or quant"),
            409: OpenApiResponse(description="No model yet, or no GGUF export for this model"),
        },
    )
    @action(detail=True, methods=["get"], content_negotiation_class=DownloadNegotiation)
    def model(self, request: Request, pk: int | None = None) -> FileResponse | HttpResponseRedirect:
        """The fine-tuned model: a zip of its Hugging Face folder (default), or with
        `format=gguf&quant=f16|q8_0` a GGUF file for llama.cpp and Ollama, or with
        `format=modelfile` the Ollama Modelfile that goes beside the q8_0 file."""
        job = self.get_object()
        return model_file_response(job, **query_params(ModelQuery, request))

    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="No such checkpoint kept"),
        }
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="checkpoints/<int:step>/model",
        url_name="checkpoint-model",
    )
    def checkpoint_model(
        self, request: Request, pk: int | None = None, step: int | None = None
    ) -> FileResponse:
        """A kept checkpoint as a model: a zip of its Hugging Face folder (model/, and adapter/
        for LoRA), made on the first request. Its key for a new job's base_model is
        `job-<id>-step-<step>`."""
        job = self.get_object()
        assert step is not None  # url_path's <int:step> always passes it
        return checkpoint_zip_response(job, int(step))

    @extend_schema(request=GenerateRequestSerializer, responses={200: GenerateResponseSerializer})
    @action(detail=True, methods=["post"])
    def generate(self, request: Request, pk: int | None = None) -> Response:
        """Continue a prompt with the fine-tuned model (and, if asked, with its base model)."""
        job = self.get_object()
        data = GenerateRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            result = generation.generate(job=job, user=request.user, **data.validated_data)
        except generation.ModelNotReady as exc:
            raise Conflict(str(exc)) from exc
        except generation.NotAChatModel as exc:  # the job's training data, not the request
            raise Conflict({"system": [str(exc)]}) from exc
        except generation.Busy as exc:
            raise Throttled(wait=exc.retry_after, detail=str(exc)) from exc
        except client.Unavailable as exc:
            raise InferenceUnavailable(str(exc)) from exc
        return Response(result)


def _page(request: Request, results: list[Any], following: dict[str, Any] | None) -> Response:
    next_url = None
    if following:
        next_url = request.build_absolute_uri(f"{request.path}?{urlencode(following)}")
    return Response({"results": results, "next": next_url})


class EstimateResponseSerializer(strict.Serializer):
    hyperparameters = serializers.DictField()
    reasons = serializers.DictField(child=serializers.CharField())
    fixed = serializers.ListField(child=serializers.CharField())
    total_steps = serializers.IntegerField()
    total_tokens = serializers.IntegerField()
    estimate = serializers.DictField()


class JobEstimateView(APIView):
    @extend_schema(request=JobRequestSerializer, responses=EstimateResponseSerializer)
    def post(self, request: Request) -> Response:
        """Resolve every hyperparameter (with reasons) and estimate time, memory and cost."""
        body = JobRequestSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        owner = cast(User, request.user)  # signed in: IsAuthenticated is the default
        return Response(job_estimate(owner=owner, **body.job_arguments()))
