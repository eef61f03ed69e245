from django.urls import path

from jobs.sharing import views

urlpatterns = [
    path("jobs/<int:pk>/move/", views.job_move, name="job-move"),
    path("jobs/<int:pk>/shares/", views.job_share_add, name="job-share"),
    path(
        "jobs/<int:pk>/shares/<int:user_id>/revoke/",
        views.job_share_revoke,
        name="job-share-revoke",
    ),
    path(
        "jobs/<int:pk>/invitations/<int:invitation_id>/revoke/",
        views.job_invitation_revoke,
        name="job-invitation-revoke",
    ),
    path("datasets/<int:pk>/move/", views.dataset_move, name="dataset-move"),
]
