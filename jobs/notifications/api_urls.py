from django.urls import path
from rest_framework.routers import SimpleRouter

from jobs.notifications import api

router = SimpleRouter(use_regex_path=False)
router.register("webhooks", api.WebhookViewSet, basename="api-webhook")

urlpatterns = [
    path(
        "webhooks/deliveries/<int:pk>/redeliver/",
        api.RedeliverView.as_view(),
        name="api-webhook-redeliver",
    ),
    *router.urls,
]
