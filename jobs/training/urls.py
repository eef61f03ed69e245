from django.urls import path

from jobs.training import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("jobs/new/", views.job_new, name="job-new"),
    path("jobs/compare/", views.job_compare, name="job-compare"),
    path("jobs/<int:pk>/", views.job_detail, name="job-detail"),
    path("jobs/<int:pk>/live/", views.job_live, name="job-live"),
    path("jobs/<int:pk>/edit/", views.job_update, name="job-update"),
    path("jobs/<int:pk>/cancel/", views.job_cancel_view, name="job-cancel"),
    path("jobs/<int:pk>/pause/", views.job_pause_view, name="job-pause"),
    path("jobs/<int:pk>/resume/", views.job_resume_view, name="job-resume"),
    path("jobs/<int:pk>/delete/", views.job_delete_view, name="job-delete"),
    path("jobs/<int:pk>/model/", views.job_model_download, name="job-model"),
    path(
        "jobs/<int:pk>/checkpoints/<int:step>/model/",
        views.checkpoint_model_download,
        name="job-checkpoint-model",
    ),
    path("jobs/<int:pk>/playground/", views.job_playground, name="job-playground"),
]
