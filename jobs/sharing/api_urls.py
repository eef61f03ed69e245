from django.urls import path

from jobs.sharing import api

urlpatterns = [
    path("jobs/<int:pk>/shares/", api.JobShareListView.as_view(), name="api-job-shares"),
    path(
        "jobs/<int:pk>/shares/<int:user_id>/",
        api.JobShareDetailView.as_view(),
        name="api-job-share",
    ),
    path(
        "jobs/<int:pk>/invitations/",
        api.JobInvitationListView.as_view(),
        name="api-job-invitations",
    ),
    path(
        "jobs/<int:pk>/invitations/<int:invitation_id>/",
        api.JobInvitationDetailView.as_view(),
        name="api-job-invitation",
    ),
]
