from django.urls import path

from jobs.catalog import api

urlpatterns = [
    path("base-models/", api.BaseModelListView.as_view(), name="api-base-models"),
]
