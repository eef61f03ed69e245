"""Shapes of the jobs API. Serializers validate and shape; services do the work."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jobs.fleet.queue_position import queue_standing
from jobs.models import BaseModel, Checkpoint, Dataset, Job, JobEvent, MetricPoint
from jobs.planning.hyperparameters import HYPERPARAMETERS, HyperparametersSerializer
from jobs.sharing.serializers import team_field
from jobs.training.downloads import GGUF_QUANTS, MODEL_FORMATS
from jobs.training.evaluation_summary import brief, headline, job_evaluations
from tunerproject import serializers as strict
from tunerproject.api import absolute_url

MAX_NEW_TOKENS = 256


@extend_schema_field(HyperparametersSerializer)
class HyperparametersField(serializers.DictField):
    """The values a user fixes, by name: checked (names, types, ranges) when the job is planned
    (jobs.planning.hyperparameters); the schema lists each with its range."""


@extend_schema_field(OpenApiTypes.INT)
class OwnDatasetField(serializers.PrimaryKeyRelatedField):
    """A dataset id the requesting user may train on: their own or a team's where they are a
    member (one they cannot see reads as unknown; jobs.planning.autoconfig.check_dataset says
    why a viewer's cannot be used)."""

    default_error_messages = {
        "does_not_exist": "No dataset with id {pk_value}",
        "incorrect_type": "A dataset id is a number, not {data_type}.",
    }

    def get_queryset(self):
        return Dataset.objects.visible_to(self.context["request"].user)


class ProgressSerializer(strict.Serializer):
    step = serializers.IntegerField()
    total_steps = serializers.IntegerField()
    percent = serializers.IntegerField(source="progress_percent")
    epoch = serializers.FloatField()
    tokens_seen = serializers.IntegerField()
    tokens_per_second = serializers.FloatField(allow_null=True)
    eta_seconds = serializers.FloatField(allow_null=True)


@extend_schema_field(OpenApiTypes.URI)
class JobUrlField(serializers.Field):
    """The URL named `route` for the job, absolute when the serializer has a request."""

    def __init__(self, route):
        super().__init__(source="*", read_only=True)
        self.route = route

    def to_representation(self, job):
        return absolute_url(self.context, self.route, job.pk)


class JobUrlsSerializer(strict.Serializer):
    metrics = JobUrlField("api-job-metrics")
    events = JobUrlField("api-job-events")
    checkpoints = JobUrlField("api-job-checkpoints")
    model = JobUrlField("api-job-model")
    generate = JobUrlField("api-job-generate")
    portal = JobUrlField("job-detail")


class QueueStandingSerializer(strict.Serializer):
    position = serializers.IntegerField(help_text="1: the next job a free worker of its pool takes")
    ahead = serializers.IntegerField()
    estimated_start = serializers.DateTimeField(allow_null=True)
    waiting_for = serializers.CharField(
        required=False, help_text='While its pool has no live worker: "waiting for a gpu worker"'
    )


class JobSerializer(strict.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    queue = serializers.SerializerMethodField(
        help_text="A queued job's place in its pool's queue and estimated start; else null"
    )
    dataset_name = serializers.CharField(source="dataset.name", read_only=True)
    base_model: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="key", read_only=True
    )
    progress = ProgressSerializer(source="*", read_only=True)
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)
    url = serializers.SerializerMethodField(help_text="This job in the API")
    urls = JobUrlsSerializer(source="*", read_only=True)
    evaluations = serializers.SerializerMethodField(
        help_text="Its evaluations, the automatic one included: [{id, role, model, dataset, "
        "status, metrics, url}], newest first"
    )
    evaluation_summary = serializers.SerializerMethodField(
        help_text="The automatic evaluation in one line (base → tuned), or null"
    )

    class Meta:
        model = Job
        fields = [
            "id",
            "name",
            "owner",
            "team",
            "notes",
            "status",
            "status_display",
            "pool",
            "queue",
            "dataset",
            "dataset_name",
            "validation_dataset",
            "base_model",
            "parent_job",
            "parent_checkpoint_step",
            "method",
            "hyperparameters",
            "requested_hyperparameters",
            "hyperparameter_reasons",
            "progress",
            "train_loss",
            "eval_loss",
            "estimate",
            "actual",
            "error",
            "restart_count",
            "cancel_requested",
            "created_at",
            "started_at",
            "finished_at",
            "duration_seconds",
            "auto_evaluation",
            "evaluation_regex",
            "evaluations",
            "evaluation_summary",
            "url",
            "urls",
        ]
        read_only_fields = fields

    def get_url(self, job) -> str:
        return absolute_url(self.context, "api-job-detail", job.pk)

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_evaluations(self, job):
        return [
            {**brief(e), "url": absolute_url(self.context, "api-evaluation-detail", e.pk)}
            for e in self._evaluations(job)
        ]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_evaluation_summary(self, job):
        return headline(job, self._evaluations(job))

    def _evaluations(self, job):
        cache = self.context.setdefault("_evaluations", {})
        if job.pk not in cache:
            cache[job.pk] = job_evaluations(job)
        return cache[job.pk]

    @extend_schema_field(QueueStandingSerializer(allow_null=True))
    def get_queue(self, job):
        standing = queue_standing(job)
        return None if standing is None else QueueStandingSerializer(standing).data


class JobSummarySerializer(strict.ModelSerializer):
    """A job as a list shows it: what it is, where it stands and where to read more. Every field
    has the same name and shape as in the full job (JobSerializer), which a list gives with
    ?full=1."""

    owner = serializers.CharField(source="owner.username", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    dataset_name = serializers.CharField(source="dataset.name", read_only=True)
    base_model: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="key", read_only=True
    )
    progress = ProgressSerializer(source="*", read_only=True)
    url = serializers.SerializerMethodField(help_text="The full job")
    urls = JobUrlsSerializer(source="*", read_only=True)

    class Meta:
        model = Job
        fields = [
            "id",
            "name",
            "owner",
            "team",
            "status",
            "status_display",
            "pool",
            "dataset",
            "dataset_name",
            "base_model",
            "method",
            "progress",
            "train_loss",
            "eval_loss",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "url",
            "urls",
        ]
        read_only_fields = fields

    def get_url(self, job) -> str:
        return absolute_url(self.context, "api-job-detail", job.pk)


class JobRequestSerializer(strict.Serializer):
    """What a job is made of: the fields a launch (POST /jobs/) and an estimate
    (POST /jobs/estimate/) share, so both accept and refuse the same values."""

    dataset = OwnDatasetField(help_text="Id of one of your datasets")
    validation_dataset = OwnDatasetField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Id of one of your datasets to evaluate on; none holds out part of the data",
    )
    base_model = serializers.CharField(
        max_length=BaseModel._meta.get_field("key").max_length,
        help_text="A key from GET /api/v1/base-models/: builtin-tiny, gpt2, job-<id>…",
    )
    method = serializers.ChoiceField(choices=Job.Method.choices, default=Job.Method.FULL)
    hyperparameters = HyperparametersField(
        required=False,
        default=dict,
        help_text="Values you fix; the rest are auto-configured. Names: "
        + ", ".join(HYPERPARAMETERS),
    )

    def job_arguments(self):
        """Keyword arguments for jobs.training.services.job_launch and planning's job_estimate."""
        values = self.validated_data
        return {
            "dataset": values["dataset"],
            "validation_dataset": values.get("validation_dataset"),
            "base_model_key": values["base_model"],
            "method": values["method"],
            "hyperparameters": values.get("hyperparameters") or {},
        }


class JobCreateSerializer(JobRequestSerializer):
    name = serializers.CharField(max_length=Job._meta.get_field("name").max_length)
    team = team_field()
    pool = serializers.CharField(
        max_length=Job._meta.get_field("pool").max_length,
        required=False,
        allow_blank=True,
        default="",
        help_text="A pool of workers (cpu, gpu...); left out: the cheapest live pool that fits",
    )
    auto_evaluation = serializers.BooleanField(
        required=False,
        default=True,
        help_text="Once it succeeds, evaluate its model and its base model on held-out examples",
    )
    evaluation_regex = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=500,
        help_text="A regular expression the automatic evaluation checks each output against",
    )


class JobUpdateSerializer(strict.ModelSerializer):
    """Name and notes, and `team` (its owner only: moves it between spaces). Any other field sent
    is refused by name rather than ignored, so a client never reads a 200 as "status changed"."""

    closed = True  # the schema says so: additionalProperties false

    team = team_field()

    class Meta:
        model = Job
        fields = ["name", "notes", "team"]

    def to_internal_value(self, data):
        others = sorted(set(data) - set(self.Meta.fields)) if hasattr(data, "keys") else []
        if others:
            readable = set(JobSerializer.Meta.fields)
            raise serializers.ValidationError(
                {
                    key: [
                        "Read-only: only name, notes and team can be changed."
                        if key in readable
                        else "Unknown field: only name, notes and team can be changed."
                    ]
                    for key in others
                }
            )
        return super().to_internal_value(data)


class MetricPointSerializer(strict.ModelSerializer):
    class Meta:
        model = MetricPoint
        fields = [
            "id",
            "step",
            "epoch",
            "train_loss",
            "eval_loss",
            "train_accuracy",
            "eval_accuracy",
            "eval_perplexity",
            "learning_rate",
            "grad_norm",
            "tokens_per_second",
            "created_at",
        ]


class JobEventSerializer(strict.ModelSerializer):
    class Meta:
        model = JobEvent
        fields = ["id", "created_at", "level", "kind", "message", "data"]


class CheckpointSerializer(strict.ModelSerializer):
    class Meta:
        model = Checkpoint
        fields = ["id", "step", "size_bytes", "eval_loss", "is_final", "created_at"]


MAX_HISTORY_TURNS = 50


class ChatTurnSerializer(strict.Serializer):
    """One earlier turn of a playground conversation."""

    role = serializers.ChoiceField(["user", "assistant"])
    content = serializers.CharField(max_length=4000, trim_whitespace=False, allow_blank=True)


class GenerateRequestSerializer(strict.Serializer):
    """A playground request: the API's body and, through jobs.training.forms.PlaygroundForm, the
    page's fields (same limits, defaults and labels)."""

    prompt = serializers.CharField(
        max_length=4000,
        trim_whitespace=False,
        help_text="For a chat-trained job: your next message in the conversation.",
    )
    system = serializers.CharField(
        max_length=4000,
        required=False,
        allow_blank=True,
        default="",
        trim_whitespace=False,
        label="System prompt (optional)",
        help_text="Chat-trained jobs only: how the assistant should behave.",
        style={"rows": 2},
    )
    history = ChatTurnSerializer(  # type: ignore[call-arg]
        many=True,
        required=False,
        default=list,
        max_length=MAX_HISTORY_TURNS,
        help_text="Chat-trained jobs only: the conversation so far, oldest first.",
    )
    max_new_tokens = serializers.IntegerField(
        min_value=1,
        max_value=MAX_NEW_TOKENS,
        default=64,
        help_text=f"Answers are capped at {MAX_NEW_TOKENS} new tokens.",
    )
    temperature = serializers.FloatField(
        min_value=0.0,
        max_value=2.0,
        default=0.8,
        help_text="0 (or anything under 0.01) always picks the likeliest token.",
    )
    top_p = serializers.FloatField(min_value=0.01, max_value=1.0, default=0.95, label="Top-p")
    compare_base = serializers.BooleanField(default=True, label="Also answer with the base model")


class GenerateResponseSerializer(strict.Serializer):
    prompt_used = serializers.CharField(
        help_text="The exact text given to the models: the prompt in the job's training format"
    )
    output = serializers.CharField(help_text="Control characters other than newline removed")
    base_output = serializers.CharField(required=False)
    base_label = serializers.CharField(required=False)
    seconds = serializers.FloatField()


def cursor_page_serializer(name, item_serializer):
    """The shape of an incremental list: new rows plus the URL of the next batch, if any."""
    return type(
        name,
        (serializers.Serializer,),
        {
            "results": item_serializer(many=True),
            "next": serializers.URLField(allow_null=True),
        },
    )


class ModelQuery(strict.Serializer):
    format = serializers.ChoiceField(
        choices=MODEL_FORMATS,
        default="zip",
        help_text="zip: the Hugging Face folder; gguf: one GGUF file (llama.cpp, Ollama); "
        "modelfile: the Ollama Modelfile for the q8_0 file",
    )
    quant = serializers.ChoiceField(
        choices=GGUF_QUANTS, default="q8_0", help_text="The GGUF file's weights (format=gguf)"
    )
