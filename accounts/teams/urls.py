from django.urls import path

from accounts.teams import views

urlpatterns = [
    path("", views.team_list, name="team-list"),
    path("<int:pk>/", views.team_detail, name="team-detail"),
    path("<int:pk>/rename/", views.team_rename, name="team-rename"),
    path("<int:pk>/delete/", views.team_delete, name="team-delete"),
    path("<int:pk>/members/", views.team_member_add, name="team-member-add"),
    path("<int:pk>/members/<int:user_id>/role/", views.team_member_role, name="team-member-role"),
    path(
        "<int:pk>/members/<int:user_id>/remove/",
        views.team_member_remove,
        name="team-member-remove",
    ),
    path(
        "<int:pk>/invitations/<int:invitation_id>/revoke/",
        views.team_invitation_revoke,
        name="team-invitation-revoke",
    ),
]
