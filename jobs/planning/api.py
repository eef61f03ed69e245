"""POST /api/v1/jobs/estimate/: what a job would be, before launching it.

The wizard calls it on every change to show each resolved hyperparameter with its reason, the
steps and tokens, and the time, memory and cost. A dataset that is not the user's reads exactly
like one that does not exist.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs.planning.autoconfig import job_estimate
from jobs.serializers import JobRequestSerializer


class EstimateResponseSerializer(serializers.Serializer):
    hyperparameters = serializers.DictField()
    reasons = serializers.DictField(child=serializers.CharField())
    fixed = serializers.ListField(child=serializers.CharField())
    total_steps = serializers.IntegerField()
    total_tokens = serializers.IntegerField()
    estimate = serializers.DictField()


class JobEstimateView(APIView):
    @extend_schema(request=JobRequestSerializer, responses=EstimateResponseSerializer)
    def post(self, request):
        """Resolve every hyperparameter (with reasons) and estimate time, memory and cost."""
        body = JobRequestSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        return Response(job_estimate(owner=request.user, **body.job_arguments()))
