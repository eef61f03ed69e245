from django.urls import include, path

urlpatterns = [
    path("datasets/", include("jobs.datasets.api_urls")),
]
