"""A team with one user in each role, for the teams, sharing and role-table tests."""

from accounts.models import ApiToken
from accounts.teams.models import Membership, Role
from accounts.teams.services import team_create
from tests.conftest import PASSWORD


def make_user(django_user_model, name):
    return django_user_model.objects.create_user(name, f"{name}@example.com", PASSWORD)


def make_team(admin, name="Lab", **members):
    """A team whose admin is `admin`, plus {role: user} members."""
    team = team_create(by=admin, name=name)
    for role, user in members.items():
        Membership.objects.create(team=team, user=user, role=Role(role))
    return team


def token_client(user, scheme="Token"):
    from rest_framework.test import APIClient

    _, key = ApiToken.issue(user=user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {key}")
    return client
