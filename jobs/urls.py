from django.urls import include, path

from jobs import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("datasets/", include("jobs.datasets.urls")),
]
