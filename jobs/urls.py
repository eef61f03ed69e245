"""The portal's pages, one include per topic."""

from django.urls import include, path

urlpatterns = [
    path("", include("jobs.training.urls")),
    path("", include("jobs.sharing.urls")),
    path("datasets/", include("jobs.datasets.urls")),
    path("", include("jobs.notifications.urls")),
    path("", include("jobs.evaluations.urls")),
]
