"""The team pages and the dashboard's space filter."""

import pytest

from accounts.teams.models import Membership
from jobs.datasets.services import dataset_delete
from jobs.models import Dataset, Job
from tests.jobs.factories import make_dataset, make_job
from tests.teams_fixtures import make_team

pytestmark = pytest.mark.django_db


def test_a_user_creates_a_team_adds_a_viewer_and_changes_the_role(client, owner, other_user):
    client.force_login(owner)
    created = client.post("/accounts/teams/", {"name": "Lab"}, follow=True)
    assert "you are its admin" in created.content.decode()
    team = owner.memberships.get().team
    added = client.post(
        f"/accounts/teams/{team.pk}/members/", {"username": "bob", "role": "viewer"}, follow=True
    )
    assert "Added bob as Viewer." in added.content.decode()
    client.post(f"/accounts/teams/{team.pk}/members/{other_user.pk}/role/", {"role": "member"})
    assert Membership.objects.get(team=team, user=other_user).role == "member"
    last_admin = client.post(
        f"/accounts/teams/{team.pk}/members/{owner.pk}/role/", {"role": "viewer"}, follow=True
    )
    assert "last admin" in last_admin.content.decode()


def test_a_member_sees_the_team_page_without_admin_controls_and_an_outsider_gets_404(
    client, owner, other_user, django_user_model
):
    team = make_team(owner, viewer=other_user)
    client.force_login(other_user)
    page = client.get(f"/accounts/teams/{team.pk}/").content.decode()
    assert "Lab" in page and "Add member" not in page and "Delete team" not in page
    assert client.post(f"/accounts/teams/{team.pk}/rename/", {"name": "x"}).status_code == 403
    stranger = django_user_model.objects.create_user("cy", "cy@example.com", "pw-long-enough-1")
    client.force_login(stranger)
    assert client.get(f"/accounts/teams/{team.pk}/").status_code == 404


def test_the_team_page_counts_the_jobs_and_datasets_its_members_see(client, owner, other_user):
    """The counts come from jobs (accounts.pages): a dataset deleted while a finished job still
    names it is gone from every list, so it is not counted either."""
    team = make_team(owner, member=other_user)
    kept = make_dataset(owner, name="Kept lines")
    gone = make_dataset(owner, name="Gone lines")
    Dataset.objects.filter(pk__in=[kept.pk, gone.pk]).update(team=team)
    make_job(owner, kept, team=team, status=Job.Status.SUCCEEDED)
    make_job(owner, gone, team=team, status=Job.Status.SUCCEEDED)
    make_job(owner, kept, name="Personal run", status=Job.Status.SUCCEEDED)
    dataset_delete(dataset=Dataset.objects.get(pk=gone.pk))
    assert Dataset.objects.get(pk=gone.pk).deleted_at is not None  # kept for its job's sake

    client.force_login(other_user)
    page = client.get(f"/accounts/teams/{team.pk}/").content.decode()
    assert f'href="/?space=team-{team.pk}">2 jobs</a>' in page
    assert "1 dataset</p>" in " ".join(page.split())


def test_the_dashboard_filters_personal_and_each_team(client, owner, other_user):
    team = make_team(owner, member=other_user)
    make_job(owner, name="My own run", status=Job.Status.SUCCEEDED)
    make_job(other_user, name="Lab run", team=team, status=Job.Status.SUCCEEDED)
    client.force_login(owner)
    everything = client.get("/").content.decode()
    assert "My own run" in everything and "Lab run" in everything and "by bob" in everything
    personal = client.get("/?space=personal").content.decode()
    assert "My own run" in personal and "Lab run" not in personal
    lab = client.get(f"/?space=team-{team.pk}").content.decode()
    assert "Lab run" in lab and "My own run" not in lab
