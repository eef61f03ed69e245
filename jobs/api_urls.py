from django.urls import include, path
from rest_framework.routers import SimpleRouter

from jobs import api

job_router = SimpleRouter(use_regex_path=False)
job_router.register("jobs", api.JobViewSet, basename="api-job")

urlpatterns = [
    path("datasets/", include("jobs.datasets.api_urls")),
    path("base-models/", api.BaseModelListView.as_view(), name="api-base-models"),
    *job_router.urls,
]
