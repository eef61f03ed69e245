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
]
