"""POST /api/v1/jobs/estimate/: what a job would be, before launching it.

The wizard calls it on every change to show each resolved hyperparameter with its reason, the
steps and tokens, and the time, memory and cost. A dataset that is not the user's reads exactly
like one that does not exist.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs.models import Dataset, Job
from jobs.planning.autoconfig import HYPERPARAMETERS, job_estimate


class EstimateRequestSerializer(serializers.Serializer):
    dataset = serializers.IntegerField(help_text="Id of one of your datasets")
    base_model = serializers.CharField(
        max_length=120, help_text="Catalog key: builtin-tiny, gpt2, job-<id>…"
    )
    method = serializers.ChoiceField(choices=Job.Method.choices, default=Job.Method.FULL)
    hyperparameters = serializers.DictField(
        required=False,
        default=dict,
        help_text=f"Values you fix; the rest are chosen. Names: {', '.join(HYPERPARAMETERS)}",
    )
    validation_dataset = serializers.IntegerField(required=False, allow_null=True, default=None)


class EstimateResponseSerializer(serializers.Serializer):
    hyperparameters = serializers.DictField()
    reasons = serializers.DictField(child=serializers.CharField())
    fixed = serializers.ListField(child=serializers.CharField())
    total_steps = serializers.IntegerField()
    total_tokens = serializers.IntegerField()
    estimate = serializers.DictField()


class JobEstimateView(APIView):
    @extend_schema(request=EstimateRequestSerializer, responses=EstimateResponseSerializer)
    def post(self, request):
        """Resolve every hyperparameter (with reasons) and estimate time, memory and cost."""
        body = EstimateRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values = body.validated_data
        datasets = Dataset.objects.for_user(request.user)
        dataset = _dataset(datasets, values["dataset"], "dataset")
        validation = None
        if values.get("validation_dataset") is not None:
            validation = _dataset(datasets, values["validation_dataset"], "validation_dataset")
        result = job_estimate(
            owner=request.user,
            dataset=dataset,
            base_model_key=values["base_model"],
            method=values["method"],
            hyperparameters=values["hyperparameters"],
            validation_dataset=validation,
        )
        return Response(result)


def _dataset(datasets, pk, field):
    dataset = datasets.filter(pk=pk).first()
    if dataset is None:
        raise serializers.ValidationError({field: [f"No dataset with id {pk}"]})
    return dataset
