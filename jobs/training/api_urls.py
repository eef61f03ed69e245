from django.urls import path
from rest_framework.routers import SimpleRouter

from jobs.training import api

job_router = SimpleRouter(use_regex_path=False)
job_router.register("jobs", api.JobViewSet, basename="api-job")

urlpatterns = [
    path("jobs/estimate/", api.JobEstimateView.as_view(), name="api-job-estimate"),
    *job_router.urls,
]
