"""Evaluations in the admin: operators see each one with its figures and log, cancel queued or
running ones, and delete them. Workers write the rows, so the fields are read-only."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from jobs.models import Evaluation, EvaluationEvent


class EvaluationEventInline(admin.TabularInline):
    model = EvaluationEvent
    extra = 0
    can_delete = False
    fields = readonly_fields = ("created_at", "level", "message")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Evaluation)
class EvaluationAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "model",
        "dataset",
        "owner",
        "team",
        "role",
        "status",
        "pool",
        "examples_done",
        "examples_total",
        "created_at",
    ]
    list_filter = ["status", "role", "pool"]
    search_fields = ["model", "model_label", "owner__username", "dataset__name"]
    readonly_fields = [field.name for field in Evaluation._meta.fields]
    inlines = [EvaluationEventInline]
    actions = ["cancel"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Cancel the selected evaluations")
    def cancel(self, request: HttpRequest, queryset: QuerySet[Evaluation]) -> None:
        cancelled = 0
        for evaluation in queryset.filter(status__in=["queued", "running"]):
            cancelled += bool(evaluation.request_cancel())
        messages.info(request, f"Asked {cancelled} evaluations to stop.")
