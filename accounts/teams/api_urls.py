from django.urls import path

from accounts.teams import api

urlpatterns = [
    path("", api.TeamListView.as_view(), name="api-teams"),
    path("<int:pk>/", api.TeamDetailView.as_view(), name="api-team-detail"),
    path("<int:pk>/members/", api.MemberListView.as_view(), name="api-team-members"),
    path(
        "<int:pk>/members/<int:user_id>/",
        api.MemberDetailView.as_view(),
        name="api-team-member",
    ),
    path("<int:pk>/invitations/", api.InvitationListView.as_view(), name="api-team-invitations"),
    path(
        "<int:pk>/invitations/<int:invitation_id>/",
        api.InvitationDetailView.as_view(),
        name="api-team-invitation",
    ),
]
