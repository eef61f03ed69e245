from django.contrib import admin

from jobs.models import Dataset


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "owner",
        "format",
        "kind",
        "status",
        "num_examples",
        "total_tokens",
        "size_bytes",
        "created_at",
    ]
    list_filter = ["status", "format", "kind", "team", "created_at"]
    search_fields = ["name", "original_filename", "owner__username"]
    # The file, its report and its statistics belong together; editing one would make them lie.
    readonly_fields = [
        "owner",
        "original_filename",
        "file",
        "format",
        "kind",
        "column_mapping",
        "size_bytes",
        "status",
        "errors",
        "error_count",
        "num_examples",
        "total_tokens",
        "stats",
        "created_at",
    ]
