"""The evaluations API's shapes: what a request may say and what an answer holds."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jobs.evaluations.compare import FILTERS
from jobs.evaluations.metrics import METRICS
from jobs.evaluations.services import GENERATION_DEFAULTS, GENERATION_LIMITS
from jobs.models import Evaluation, EvaluationEvent
from tunerproject import serializers as strict
from tunerproject.api import absolute_url

GENERATION_HELP = (
    "Generation setting: max_new_tokens (1-512, default 64), temperature (0 = greedy, the "
    "default), top_p, seed, batch_size (1-64, default 16)"
)


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            name: {
                "type": "number" if isinstance(GENERATION_DEFAULTS[name], float) else "integer",
                "minimum": low,
                "maximum": high,
            }
            for name, (low, high) in GENERATION_LIMITS.items()
        },
        "additionalProperties": False,
    }
)
class GenerationField(serializers.DictField):
    """Generation settings by name, checked by jobs.evaluations.services (other names are
    refused, as the schema says)."""


class SummaryFigureSerializer(strict.Serializer):
    value = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True, help_text="95% bootstrap interval, low end")
    ci_high = serializers.FloatField(allow_null=True, help_text="95% bootstrap interval, high end")
    n = serializers.IntegerField(help_text="Examples the figure is computed on")


class EvaluationCreateSerializer(strict.Serializer):
    model = serializers.CharField(
        max_length=200,
        help_text="A catalog key (builtin-tiny, gpt2), job-<id>, or job-<id>-step-<n>",
    )
    dataset = serializers.IntegerField(help_text="Id of a valid dataset of yours")
    metrics = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Names from: " + ", ".join(METRICS) + ". Left out: every metric that needs "
        "no parameter (perplexity only for plain text); `regex` is added when a pattern is given",
    )
    regex = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=500,
        help_text="A regular expression searched in each output (anchor it with ^ and $)",
    )
    ignore_case_and_space = serializers.BooleanField(
        required=False, default=False, help_text="exact_match ignores case and surrounding space"
    )
    max_examples = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="Evaluate a seeded sample of N"
    )
    generation = GenerationField(required=False, default=dict, help_text=GENERATION_HELP)
    team = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="One of your teams, or null"
    )


class EvaluationSerializer(strict.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    dataset_name = serializers.CharField(source="dataset.name", read_only=True)
    progress = serializers.SerializerMethodField()
    metrics = serializers.SerializerMethodField(
        help_text="{metric: {value, ci_low, ci_high, n}} once it has succeeded"
    )
    metric_names = serializers.ListField(
        source="metrics",
        child=serializers.CharField(),
        read_only=True,
        help_text="The metrics asked for, in order",
    )
    url = serializers.SerializerMethodField()
    urls = serializers.SerializerMethodField()

    class Meta:
        model = Evaluation
        fields = [
            "id",
            "owner",
            "team",
            "status",
            "model",
            "model_label",
            "dataset",
            "dataset_name",
            "source_job",
            "role",
            "split",
            "metrics",
            "metric_names",
            "regex",
            "ignore_case_and_space",
            "max_examples",
            "generation",
            "pool",
            "progress",
            "estimate",
            "actual",
            "notes",
            "checkpoint_samples",
            "error",
            "cancel_requested",
            "created_at",
            "started_at",
            "finished_at",
            "url",
            "urls",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField())
    def get_progress(self, evaluation: Evaluation) -> dict[str, Any]:
        return {
            "examples_done": evaluation.examples_done,
            "examples_total": evaluation.examples_total,
            "percent": evaluation.progress_percent,
            "eta_seconds": evaluation.eta_seconds,
        }

    @extend_schema_field(serializers.DictField(child=SummaryFigureSerializer()))
    def get_metrics(self, evaluation: Evaluation) -> dict[str, Any]:
        return {
            name: figure
            for name, figure in (evaluation.summary or {}).items()
            if name in evaluation.metrics
        }

    def get_url(self, evaluation: Evaluation) -> str:
        return str(absolute_url(self.context, "api-evaluation-detail", evaluation.pk))

    @extend_schema_field(serializers.DictField(child=serializers.URLField()))
    def get_urls(self, evaluation: Evaluation) -> dict[str, str]:
        return {
            "page": absolute_url(self.context, "evaluation-detail", evaluation.pk),
            "examples": absolute_url(self.context, "api-evaluation-examples", evaluation.pk),
            "cancel": absolute_url(self.context, "api-evaluation-cancel", evaluation.pk),
        }


class ExampleQuery(strict.Serializer):
    ordering = serializers.CharField(
        required=False,
        default="index",
        help_text="index, score (the primary metric), or a metric name; '-' first: descending "
        "(-score: best first, score: worst first)",
    )
    filter = serializers.ChoiceField(
        choices=FILTERS,
        required=False,
        default="all",
        help_text="wrong/right on the primary metric; changed, improved or regressed against "
        "the base model's automatic evaluation (or ?against=<evaluation id>)",
    )
    against = serializers.IntegerField(required=False, help_text="An evaluation to compare with")


class ExampleSerializer(strict.Serializer):
    index = serializers.IntegerField(help_text="The example's position in the dataset (0-based)")
    prompt = serializers.CharField()
    reference = serializers.CharField()
    output = serializers.CharField()
    scores = serializers.DictField(child=serializers.FloatField(allow_null=True))
    metric = serializers.CharField(help_text="The metric `score` and `right` read")
    score = serializers.FloatField(allow_null=True)
    right = serializers.BooleanField()
    prompt_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    reference_tokens = serializers.IntegerField()
    finish_reason = serializers.CharField()
    seconds = serializers.FloatField()
    baseline_output = serializers.CharField(allow_null=True)
    baseline_score = serializers.FloatField(allow_null=True)
    change = serializers.CharField(allow_null=True)


class EvaluationEventSerializer(strict.ModelSerializer):
    class Meta:
        model = EvaluationEvent
        fields = ["id", "created_at", "level", "message"]


class LeaderboardQuery(strict.Serializer):
    dataset = serializers.IntegerField()
    metric = serializers.ChoiceField(choices=list(METRICS))
