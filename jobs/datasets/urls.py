from django.urls import path

from jobs.datasets import views

urlpatterns = [
    path("", views.dataset_list, name="dataset-list"),
    path("sample/", views.dataset_sample, name="dataset-sample"),
    path("<int:pk>/", views.dataset_detail, name="dataset-detail"),
    path("<int:pk>/download/", views.dataset_download, name="dataset-download"),
    path("<int:pk>/delete/", views.dataset_delete, name="dataset-delete"),
]
