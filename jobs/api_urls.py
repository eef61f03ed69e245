"""The REST API under /api/v1/, one include per topic."""

from django.urls import include, path

urlpatterns = [
    path("datasets/", include("jobs.datasets.api_urls")),
    path("", include("jobs.notifications.api_urls")),
    path("", include("jobs.catalog.api_urls")),
    path("", include("jobs.evaluations.api_urls")),
    path("", include("jobs.fleet.api_urls")),
    path("", include("jobs.sharing.api_urls")),
    path("", include("jobs.training.api_urls")),
]
