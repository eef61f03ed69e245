from django.contrib import admin

from jobs.models import Worker


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    """The fleet as workers report it: read-only (workers write their own rows)."""

    list_display = [
        "name",
        "pool",
        "kind",
        "device_name",
        "memory_gib",
        "is_live",
        "stopping",
        "current_job",
        "last_seen",
    ]
    list_filter = ["pool", "kind", "stopping"]
    search_fields = ["name", "host", "device_name"]
    readonly_fields = [field.name for field in Worker._meta.fields]

    @admin.display(description="memory (GiB)")
    def memory_gib(self, worker):
        return f"{worker.memory_bytes / 2**30:.1f}"

    @admin.display(boolean=True, description="live")
    def is_live(self, worker):
        return worker.is_live

    def has_add_permission(self, request):
        return False
