from django.urls import path

from jobs.datasets import api

urlpatterns = [
    path("", api.DatasetListView.as_view(), name="api-dataset-list"),
    path("<int:pk>/", api.DatasetDetailView.as_view(), name="api-dataset-detail"),
    path("<int:pk>/preview/", api.DatasetPreviewView.as_view(), name="api-dataset-preview"),
    path("<int:pk>/download/", api.DatasetDownloadView.as_view(), name="api-dataset-download"),
]
