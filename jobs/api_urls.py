from django.urls import include, path
from rest_framework.routers import SimpleRouter

from jobs import api
from jobs.fleet.api import WorkerListView
from jobs.planning.api import JobEstimateView
from jobs.sharing.api import JobShareDetailView, JobShareListView

job_router = SimpleRouter(use_regex_path=False)
job_router.register("jobs", api.JobViewSet, basename="api-job")

urlpatterns = [
    path("datasets/", include("jobs.datasets.api_urls")),
    path("", include("jobs.notifications.api_urls")),
    path("base-models/", api.BaseModelListView.as_view(), name="api-base-models"),
    path("workers/", WorkerListView.as_view(), name="api-workers"),
    path("jobs/estimate/", JobEstimateView.as_view(), name="api-job-estimate"),
    path("jobs/<int:pk>/shares/", JobShareListView.as_view(), name="api-job-shares"),
    path(
        "jobs/<int:pk>/shares/<int:user_id>/",
        JobShareDetailView.as_view(),
        name="api-job-share",
    ),
    *job_router.urls,
]
