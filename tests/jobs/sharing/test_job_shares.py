"""Read-only shares: an owner shares one job with one user, who sees it (list, page, metrics,
model) but changes nothing, until the owner revokes the share."""

import pytest

from jobs.models import Job
from tests.jobs.factories import add_history, make_job
from tests.teams_fixtures import token_client

pytestmark = pytest.mark.django_db


def test_an_owner_shares_a_job_read_only_and_revokes_it(owner, owner_api, other_user):
    job = make_job(owner, status=Job.Status.RUNNING, name="Shared run")
    add_history(job)
    bob = token_client(other_user)
    assert bob.get(f"/api/v1/jobs/{job.pk}/").status_code == 404

    shared = owner_api.post(f"/api/v1/jobs/{job.pk}/shares/", {"username": "bob"}, format="json")
    assert shared.status_code == 201
    assert owner_api.get(f"/api/v1/jobs/{job.pk}/shares/").json()[0]["username"] == "bob"

    assert [j["name"] for j in bob.get("/api/v1/jobs/").json()["results"]] == ["Shared run"]
    assert bob.get(f"/api/v1/jobs/{job.pk}/").json()["owner"] == "ada"
    assert len(bob.get(f"/api/v1/jobs/{job.pk}/metrics/").json()["results"]) == 6
    cancel = bob.post(f"/api/v1/jobs/{job.pk}/cancel/")
    assert cancel.status_code == 403
    assert "read-only" in cancel.json()["detail"]
    assert bob.patch(f"/api/v1/jobs/{job.pk}/", {"notes": "x"}, format="json").status_code == 403
    assert bob.get(f"/api/v1/jobs/{job.pk}/shares/").status_code == 403
    # the job's dataset is not shared with it
    assert bob.get(f"/api/v1/datasets/{job.dataset_id}/").status_code == 404

    revoked = owner_api.delete(f"/api/v1/jobs/{job.pk}/shares/{other_user.pk}/")
    assert revoked.status_code == 204
    assert bob.get(f"/api/v1/jobs/{job.pk}/").status_code == 404
    assert owner_api.delete(f"/api/v1/jobs/{job.pk}/shares/{other_user.pk}/").status_code == 404
    # an id no user can have (wider than the column) is no share either, not a server error
    huge = owner_api.delete(f"/api/v1/jobs/{job.pk}/shares/{2**70}/")
    assert huge.status_code == 404
    assert huge.json()["detail"] == f"This job is not shared with user id {2**70}."


def test_sharing_with_nobody_or_oneself_says_so(owner_api, owner):
    job = make_job(owner)
    unknown = owner_api.post(f"/api/v1/jobs/{job.pk}/shares/", {"username": "zed"}, format="json")
    assert unknown.status_code == 404
    assert unknown.json()["username"] == [
        "No user with username 'zed'. To invite someone, give their email."
    ]
    own = owner_api.post(f"/api/v1/jobs/{job.pk}/shares/", {"username": "ada"}, format="json")
    assert own.status_code == 400 and "your own job" in own.json()["username"][0]


def test_the_portal_shows_a_shared_job_without_its_change_buttons(owner, other_user, client):
    job = make_job(owner, status=Job.Status.RUNNING, name="Shared run")
    client.force_login(owner)
    client.post(f"/jobs/{job.pk}/shares/", {"username": "bob"})
    client.force_login(other_user)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Shared run" in page and "read-only for you" in page
    assert 'id="cancel-form"' not in page and "Clone settings" not in page
    assert client.post(f"/jobs/{job.pk}/cancel/").status_code == 403
    assert "Shared run" in client.get("/?space=shared").content.decode()
    assert "Shared run" not in client.get("/?space=personal").content.decode()
    client.force_login(owner)
    client.post(f"/jobs/{job.pk}/shares/{other_user.pk}/revoke/")
    client.force_login(other_user)
    assert client.get(f"/jobs/{job.pk}/").status_code == 404
