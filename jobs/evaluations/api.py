"""The evaluations REST API (/api/v1/evaluations/…).

Every query starts from Evaluation.objects.visible_to(request.user): another user's evaluation
is a 404; a team viewer reads and gets a 403 on a change (jobs.sharing.access). The views
validate with serializers and hand the work to jobs.evaluations.services and .compare.
"""

from typing import Any, TypeVar, cast

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.throttles import ThrottledActionsMixin
from jobs.evaluations import compare
from jobs.evaluations.serializers import (
    EvaluationCreateSerializer,
    EvaluationEventSerializer,
    EvaluationSerializer,
    ExampleQuery,
    ExampleSerializer,
    LeaderboardQuery,
)
from jobs.evaluations.services import (
    evaluation_cancel,
    evaluation_create,
    evaluation_delete,
    evaluation_prepare,
)
from jobs.models import Dataset, Evaluation
from jobs.training.responses import Conflict
from tunerproject import serializers as strict
from tunerproject.api import Pagination, query_params
from tunerproject.ids import ID_MAX, unknown

_Row = TypeVar("_Row")  # a queryset's row type (filter_queryset keeps it)


class CreateQuery(strict.Serializer):
    dry_run = serializers.BooleanField(
        required=False, default=False, help_text="Check and estimate only; queue nothing"
    )


class EvaluationListQuery(strict.Serializer):
    status = serializers.ChoiceField(choices=Evaluation.Status.choices, required=False)
    dataset = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)
    job = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=ID_MAX,
        help_text="Evaluations of this job's model or made for it",
    )


class EvaluationViewSet(
    ThrottledActionsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = EvaluationSerializer
    lookup_value_converter = "int"  # keeps /evaluations/leaderboard/ free
    throttled_actions = {"create": "launch"}

    def get_queryset(self) -> QuerySet[Evaluation]:
        return Evaluation.objects.visible_to(self.request.user).select_related("owner", "dataset")

    def filter_queryset(self, queryset: QuerySet[Evaluation, _Row]) -> QuerySet[Evaluation, _Row]:
        if self.action != "list":
            return queryset
        query = query_params(EvaluationListQuery, self.request)
        if "status" in query:
            queryset = queryset.filter(status=query["status"])
        if "dataset" in query:
            queryset = queryset.filter(dataset_id=query["dataset"])
        if "job" in query:
            job = query["job"]
            queryset = queryset.filter(model_job_id=job) | queryset.filter(source_job_id=job)
        return queryset

    @extend_schema(parameters=[EvaluationListQuery])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The evaluations you may see, newest first, paginated."""
        return super().list(request, *args, **kwargs)

    @extend_schema(
        parameters=[CreateQuery],
        request=EvaluationCreateSerializer,
        responses={201: EvaluationSerializer, 200: OpenApiTypes.OBJECT},
    )
    def create(self, request: Request) -> Response:
        """Evaluate a model on a dataset: checked, estimated, routed to a pool, queued. With
        `?dry_run=1`, nothing is queued: the answer is what it would be (200: model, metrics,
        examples, notes, and the estimate of time, memory and cost on the pool it would use)."""
        data = EvaluationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        user = cast(User, request.user)
        dataset = Dataset.objects.visible_to(user).filter(pk=values["dataset"]).first()
        if dataset is None:
            raise unknown("dataset", f"No dataset with id {values['dataset']}.")
        request_ = {
            "owner": user,
            "model": values["model"],
            "dataset": dataset,
            "metrics": values["metrics"],
            "regex": values["regex"],
            "max_examples": values["max_examples"],
            "generation": values["generation"],
            "team_id": values["team"],
        }
        if query_params(CreateQuery, request).get("dry_run"):
            return Response(evaluation_prepare(**request_).preview())
        evaluation = evaluation_create(
            **request_, ignore_case_and_space=values["ignore_case_and_space"]
        )
        evaluation = self.get_queryset().get(pk=evaluation.pk)
        return Response(self.get_serializer(evaluation).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Delete an evaluation and its examples (a running one stops)."""
        evaluation_delete(evaluation=self.get_object(), user=cast(User, request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses={200: EvaluationSerializer, 409: OpenApiResponse(description="Finished")},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: int | None = None) -> Response:
        """Cancel a queued evaluation, or stop a running one after its current batch."""
        try:
            evaluation = evaluation_cancel(
                evaluation=self.get_object(), user=cast(User, request.user)
            )
        except DjangoValidationError as exc:
            raise Conflict(" ".join(exc.messages)) from exc
        return Response(self.get_serializer(evaluation).data)

    @extend_schema(parameters=[ExampleQuery], responses=ExampleSerializer(many=True))
    @action(detail=True, methods=["get"])
    def examples(self, request: Request, pk: int | None = None) -> Response:
        """Every example with its prompt, reference, output and scores, paginated; order by a
        score (`-score`: best first, `score`: worst first) and filter (wrong, right, changed
        against the base model)."""
        evaluation = self.get_object()
        query = query_params(ExampleQuery, request)
        against = None
        if "against" in query:
            against = get_object_or_404(self.get_queryset(), pk=query["against"])
        try:
            rows = compare.ordered_examples(
                evaluation, ordering=query["ordering"], filter_=query["filter"], against=against
            )
        except ValueError as exc:
            raise ValidationError({"ordering": [str(exc)]}) from exc
        paginator = Pagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(ExampleSerializer(page, many=True).data)

    @extend_schema(responses=EvaluationEventSerializer(many=True))
    @action(detail=True, methods=["get"])
    def events(self, request: Request, pk: int | None = None) -> Response:
        """The evaluation's log, oldest first."""
        evaluation = self.get_object()
        return Response(EvaluationEventSerializer(evaluation.events.all(), many=True).data)

    @extend_schema(parameters=[LeaderboardQuery])
    @action(detail=False, methods=["get"])
    def leaderboard(self, request: Request) -> Response:
        """Every model evaluated on a dataset, ranked by a metric (its newest succeeded
        evaluation each), with a paired bootstrap test against the next one down."""
        query = query_params(LeaderboardQuery, request)
        dataset = Dataset.objects.visible_to(request.user).filter(pk=query["dataset"]).first()
        if dataset is None:
            raise unknown("dataset", f"No dataset with id {query['dataset']}.")
        rows = compare.leaderboard(request.user, dataset_id=dataset.pk, metric=query["metric"])
        return Response(
            {
                "dataset": dataset.pk,
                "dataset_name": dataset.name,
                "metric": query["metric"],
                "results": rows,
            }
        )
