"""Teams through the API: create, rename, delete; members by username or email with roles;
only admins manage; a team you are not in does not exist for you."""

import pytest

from accounts.teams.models import Membership
from jobs.models import Job
from tests.jobs.factories import make_dataset, make_job
from tests.teams_fixtures import make_team, make_user, token_client

pytestmark = pytest.mark.django_db


def test_a_user_creates_a_team_and_becomes_its_admin(owner_api, owner):
    created = owner_api.post("/api/v1/teams/", {"name": "  Lab  "}, format="json")
    assert created.status_code == 201
    assert created.json()["name"] == "Lab"
    assert created.json()["role"] == "admin"
    listed = owner_api.get("/api/v1/teams/").json()
    assert [(t["name"], t["role"], t["members"]) for t in listed] == [("Lab", "admin", 1)]


def test_a_team_needs_a_name(owner_api):
    response = owner_api.post("/api/v1/teams/", {"name": "   "}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()


def test_an_admin_adds_members_by_username_with_a_role(owner_api, owner, django_user_model):
    carol = make_user(django_user_model, "carol")
    team = make_team(owner)
    url = f"/api/v1/teams/{team.pk}/members/"
    by_name = owner_api.post(url, {"username": "carol", "role": "viewer"}, format="json")
    assert by_name.status_code == 201 and by_name.json()["role"] == "viewer"
    assert by_name.json()["user_id"] == carol.pk
    members = {m["username"]: m["role"] for m in owner_api.get(url).json()}
    assert members == {"ada": "admin", "carol": "viewer"}


def test_adding_someone_unknown_or_twice_or_with_a_bad_role_says_what_is_wrong(
    owner_api, owner, other_user
):
    team = make_team(owner, viewer=other_user)
    url = f"/api/v1/teams/{team.pk}/members/"
    unknown = owner_api.post(url, {"username": "nobody"}, format="json")
    assert unknown.status_code == 404
    assert unknown.json()["username"] == [
        "No user with username 'nobody'. To invite someone, give their email."
    ]
    twice = owner_api.post(url, {"username": "bob"}, format="json")
    assert twice.status_code == 400 and "already in" in twice.json()["username"][0]
    bad_role = owner_api.post(url, {"username": "bob", "role": "boss"}, format="json")
    assert bad_role.status_code == 400 and "role" in bad_role.json()
    neither = owner_api.post(url, {"role": "viewer"}, format="json")
    assert neither.status_code == 400 and "username" in neither.json()


def test_an_admin_changes_a_role_and_removes_a_member(owner_api, owner, other_user):
    team = make_team(owner, viewer=other_user)
    url = f"/api/v1/teams/{team.pk}/members/{other_user.pk}/"
    changed = owner_api.patch(url, {"role": "member"}, format="json")
    assert changed.status_code == 200 and changed.json()["role"] == "member"
    assert owner_api.delete(url).status_code == 204
    assert not Membership.objects.filter(team=team, user=other_user).exists()
    assert owner_api.delete(url).status_code == 404


def test_the_last_admin_cannot_be_demoted_or_removed(owner_api, owner):
    team = make_team(owner)
    url = f"/api/v1/teams/{team.pk}/members/{owner.pk}/"
    demoted = owner_api.patch(url, {"role": "viewer"}, format="json")
    assert demoted.status_code == 409  # the team's state, not the request, is in the way
    assert "last admin" in demoted.json()["role"][0]
    assert owner_api.delete(url).status_code == 409
    assert Membership.objects.get(team=team, user=owner).role == "admin"


def test_a_patch_without_fields_changes_nothing(owner_api, owner, other_user):
    team = make_team(owner, viewer=other_user)
    renamed = owner_api.patch(f"/api/v1/teams/{team.pk}/", {}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Lab"
    member = owner_api.patch(f"/api/v1/teams/{team.pk}/members/{other_user.pk}/", {}, format="json")
    assert member.status_code == 200 and member.json()["role"] == "viewer"


def test_members_and_viewers_may_look_but_not_manage(owner, other_user, django_user_model):
    carol = make_user(django_user_model, "carol")
    team = make_team(owner, member=other_user, viewer=carol)
    for user in (other_user, carol):
        client = token_client(user)
        assert client.get(f"/api/v1/teams/{team.pk}/").status_code == 200
        assert client.get(f"/api/v1/teams/{team.pk}/members/").status_code == 200
        renamed = client.patch(f"/api/v1/teams/{team.pk}/", {"name": "Mine"}, format="json")
        assert renamed.status_code == 403
        assert "admin" in renamed.json()["detail"]
        added = client.post(f"/api/v1/teams/{team.pk}/members/", {"username": "ada"}, format="json")
        assert added.status_code == 403
        assert client.delete(f"/api/v1/teams/{team.pk}/").status_code == 403


def test_anyone_may_leave_a_team(owner, other_user):
    team = make_team(owner, viewer=other_user)
    client = token_client(other_user)
    assert client.delete(f"/api/v1/teams/{team.pk}/members/{other_user.pk}/").status_code == 204
    assert client.get(f"/api/v1/teams/{team.pk}/").status_code == 404


def test_a_team_you_are_not_in_is_not_found(owner, other_api):
    team = make_team(owner)
    assert other_api.get("/api/v1/teams/").json() == []
    assert other_api.get(f"/api/v1/teams/{team.pk}/").status_code == 404
    assert other_api.get(f"/api/v1/teams/{team.pk}/members/").status_code == 404
    response = other_api.patch(f"/api/v1/teams/{team.pk}/", {"name": "x"}, format="json")
    assert response.status_code == 404


def test_deleting_a_team_hands_its_datasets_and_jobs_back_to_their_owners(owner_api, owner):
    team = make_team(owner)
    dataset = make_dataset(owner)
    dataset.team = team
    dataset.save(update_fields=["team"])
    job = make_job(owner, dataset, team=team, status=Job.Status.SUCCEEDED)
    assert owner_api.delete(f"/api/v1/teams/{team.pk}/").status_code == 204
    assert owner_api.get(f"/api/v1/jobs/{job.pk}/").json()["team"] is None
    assert owner_api.get(f"/api/v1/datasets/{dataset.pk}/").json()["team"] is None
