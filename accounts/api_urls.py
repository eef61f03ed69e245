from django.urls import include, path

from accounts import api

urlpatterns = [
    path("auth/token/", api.TokenCreateView.as_view(), name="api-token"),
    path("auth/logout/", api.LogoutView.as_view(), name="api-logout"),
    path("me/", api.MeView.as_view(), name="api-me"),
    path("teams/", include("accounts.teams.api_urls")),
]
