from django.urls import path

from jobs.fleet import api

urlpatterns = [
    path("workers/", api.WorkerListView.as_view(), name="api-workers"),
]
