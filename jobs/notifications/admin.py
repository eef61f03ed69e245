"""Operators see users' webhooks and their delivery logs (read-only; the secret never shows)
and may delete an endpoint that misbehaves. Registered by jobs.admin."""

from django.contrib import admin

from jobs.models.notifications import Webhook, WebhookDelivery


class DeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    fields = ["event_type", "state", "attempts", "response_status", "error", "last_attempt_at"]
    readonly_fields = fields  # type: ignore[assignment]
    extra = 0
    max_num = 0
    ordering = ["-created_at"]


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["url", "owner", "team", "created_at"]
    search_fields = ["url", "owner__username", "team__name"]
    fields = ["owner", "team", "url", "events", "created_at"]
    readonly_fields = fields  # type: ignore[assignment]
    inlines = [DeliveryInline]

    def has_add_permission(self, request):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["event_type", "webhook", "state", "attempts", "response_status", "created_at"]
    list_filter = ["state", "event_type"]
    search_fields = ["webhook__url", "event_id"]
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]

    def has_add_permission(self, request):
        return False
