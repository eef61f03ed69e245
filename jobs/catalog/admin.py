from django.contrib import admin

from jobs.models import BaseModel


@admin.register(BaseModel)
class BaseModelAdmin(admin.ModelAdmin):
    list_display = [
        "key",
        "display_name",
        "source",
        "parameters",
        "layers",
        "context_length",
        "is_active",
    ]
    list_filter = ["source", "is_active"]
    search_fields = ["key", "display_name", "hub_id", "local_path"]
    list_editable = ["is_active"]
