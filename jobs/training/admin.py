from django.contrib import admin

from jobs.models import Checkpoint, Job, JobEvent, MetricPoint


class CheckpointInline(admin.TabularInline):
    model = Checkpoint
    extra = 0
    can_delete = False
    readonly_fields = ["step", "path", "size_bytes", "eval_loss", "is_final", "created_at"]
    fields = readonly_fields  # type: ignore[assignment]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "name",
        "owner",
        "status",
        "pool",
        "base_model",
        "method",
        "step",
        "total_steps",
        "restart_count",
        "created_at",
    ]
    list_filter = ["status", "pool", "method", "base_model", "team", "created_at"]
    search_fields = ["name", "owner__username", "dataset__name", "worker"]
    list_select_related = ["owner", "base_model"]
    # Progress, state and results are written by the worker; hand edits would corrupt them.
    readonly_fields = [
        "owner",
        "dataset",
        "validation_dataset",
        "base_model",
        "parent_job",
        "method",
        "requested_hyperparameters",
        "hyperparameters",
        "hyperparameter_reasons",
        "status",
        "pool",
        "preempt_count",
        "cancel_requested",
        "step",
        "total_steps",
        "epoch",
        "tokens_seen",
        "tokens_per_second",
        "eta_seconds",
        "train_loss",
        "eval_loss",
        "estimate",
        "actual",
        "error",
        "worker",
        "device",
        "heartbeat_at",
        "restart_count",
        "output_dir",
        "samples",
        "created_at",
        "started_at",
        "finished_at",
    ]
    inlines = [CheckpointInline]


@admin.register(JobEvent)
class JobEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "job", "level", "kind", "message"]
    list_filter = ["level", "kind"]
    search_fields = ["message", "job__name"]
    readonly_fields = ["job", "created_at", "level", "kind", "message", "data"]


@admin.register(MetricPoint)
class MetricPointAdmin(admin.ModelAdmin):
    list_display = [
        "job",
        "step",
        "epoch",
        "train_loss",
        "eval_loss",
        "learning_rate",
        "tokens_per_second",
    ]
    list_filter = ["job__status"]
    search_fields = ["job__name"]
    readonly_fields = [f.name for f in MetricPoint._meta.fields]


@admin.register(Checkpoint)
class CheckpointAdmin(admin.ModelAdmin):
    list_display = ["job", "step", "size_bytes", "eval_loss", "is_final", "created_at"]
    list_filter = ["is_final"]
    search_fields = ["job__name", "path"]
    readonly_fields = ["job", "step", "path", "size_bytes", "eval_loss", "is_final", "created_at"]
