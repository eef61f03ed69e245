"""Team spaces: datasets and jobs uploaded or launched into a team, seen by all its members,
changed by members, only looked at by viewers; moved by their owner; a team's succeeded jobs are
base models for its members; estimates calibrate only from what the user may see."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.models import Job
from tests.jobs.factories import LINES, give_tiny_model, make_dataset, make_job
from tests.teams_fixtures import make_team, make_user, token_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def lab(owner, other_user, django_user_model):
    """ada admin, meg member, vic viewer; bob (other_user) outside."""
    meg, vic = make_user(django_user_model, "meg"), make_user(django_user_model, "vic")
    team = make_team(owner, member=meg, viewer=vic)
    return {"team": team, "meg": meg, "vic": vic, "bob": other_user}


def _upload(client, team_id, name="Team data"):
    body = {"file": SimpleUploadedFile("fox.txt", LINES.encode()), "name": name}
    if team_id is not None:
        body["team"] = team_id
    return client.post("/api/v1/datasets/", body, format="multipart")


def _launch(client, dataset_id, team_id):
    body = {"name": "Team run", "dataset": dataset_id, "base_model": "builtin-tiny"}
    return client.post("/api/v1/jobs/", {**body, "team": team_id}, format="json")


def test_a_member_uploads_into_the_team_and_launches_a_team_job_every_member_sees(lab):
    team, meg = lab["team"], lab["meg"]
    uploaded = _upload(token_client(meg), team.pk)
    assert uploaded.status_code == 201, uploaded.json()
    assert uploaded.json()["team"] == team.pk and uploaded.json()["owner"] == "meg"
    launched = _launch(token_client(meg), uploaded.json()["id"], team.pk)
    assert launched.status_code == 201, launched.json()
    assert launched.json()["team"] == team.pk
    viewer = token_client(lab["vic"])
    assert [j["name"] for j in viewer.get("/api/v1/jobs/").json()["results"]] == ["Team run"]
    assert [d["name"] for d in viewer.get("/api/v1/datasets/").json()["results"]] == ["Team data"]
    outsider = token_client(lab["bob"])
    assert outsider.get("/api/v1/jobs/").json()["count"] == 0
    assert outsider.get("/api/v1/datasets/").json()["count"] == 0


def test_a_viewer_may_not_upload_into_or_launch_in_the_team(lab, owner):
    team, viewer = lab["team"], token_client(lab["vic"])
    refused = _upload(viewer, team.pk)
    assert refused.status_code == 403
    assert "viewer" in refused.json()["detail"]
    dataset = make_dataset(owner)
    dataset.team = team
    dataset.save(update_fields=["team"])
    # a team dataset is only looked at by a viewer: not trained on, not even in their own space
    personal = _launch(viewer, dataset.pk, None)
    assert personal.status_code == 400
    assert "viewer" in personal.json()["dataset"][0]


def test_a_team_one_is_not_in_reads_as_unknown(lab, owner):
    other_team = make_team(lab["bob"], name="Elsewhere")
    response = _upload(token_client(owner), other_team.pk)
    assert response.status_code == 404
    assert response.json()["team"] == [f"No team with id {other_team.pk} among your teams."]


def test_members_cancel_a_team_job_and_viewers_get_403(lab, owner):
    job = make_job(owner, team=lab["team"], status=Job.Status.RUNNING)
    refused = token_client(lab["vic"]).post(f"/api/v1/jobs/{job.pk}/cancel/")
    assert refused.status_code == 403
    assert "member role" in refused.json()["detail"]
    job.refresh_from_db()
    assert not job.cancel_requested
    assert token_client(lab["bob"]).post(f"/api/v1/jobs/{job.pk}/cancel/").status_code == 404
    assert token_client(lab["meg"]).post(f"/api/v1/jobs/{job.pk}/cancel/").status_code == 200
    job.refresh_from_db()
    assert job.cancel_requested


def test_only_the_owner_moves_a_job_or_dataset_between_spaces(lab, owner, owner_api):
    team = lab["team"]
    job = make_job(owner, status=Job.Status.SUCCEEDED)
    moved = owner_api.patch(f"/api/v1/jobs/{job.pk}/", {"team": team.pk}, format="json")
    assert moved.status_code == 200 and moved.json()["team"] == team.pk
    by_member = token_client(lab["meg"]).patch(
        f"/api/v1/jobs/{job.pk}/", {"team": None}, format="json"
    )
    assert by_member.status_code == 403
    assert "owner" in by_member.json()["detail"]
    renamed = token_client(lab["meg"]).patch(
        f"/api/v1/jobs/{job.pk}/", {"name": "Better name"}, format="json"
    )
    assert renamed.status_code == 200
    back = owner_api.patch(f"/api/v1/jobs/{job.pk}/", {"team": None}, format="json")
    assert back.json()["team"] is None
    assert token_client(lab["meg"]).get(f"/api/v1/jobs/{job.pk}/").status_code == 404
    dataset = job.dataset
    moved = owner_api.patch(f"/api/v1/datasets/{dataset.pk}/", {"team": team.pk}, format="json")
    assert moved.status_code == 200 and moved.json()["team"] == team.pk
    assert token_client(lab["vic"]).get(f"/api/v1/datasets/{dataset.pk}/").status_code == 200
    deleting = token_client(lab["vic"]).delete(f"/api/v1/datasets/{dataset.pk}/")
    assert deleting.status_code == 403


def test_a_teams_succeeded_jobs_are_base_models_for_its_members_only(lab, owner):
    job = make_job(owner, team=lab["team"], name="Team model")
    give_tiny_model(job)
    key = f"job-{job.pk}"
    for user in (lab["meg"], lab["vic"]):
        entries = token_client(user).get("/api/v1/base-models/").json()
        entry = next(e for e in entries if e["key"] == key)
        assert entry["available"] and entry["description"].startswith("Team Lab’s")
    outsider = token_client(lab["bob"])
    assert key not in [e["key"] for e in outsider.get("/api/v1/base-models/").json()]
    own = make_dataset(lab["bob"])
    refused = outsider.post(
        "/api/v1/jobs/estimate/", {"dataset": own.pk, "base_model": key}, format="json"
    )
    assert refused.status_code == 404
    assert refused.json()["base_model"] == [f"Unknown base model {key!r}."]
    meg_data = make_dataset(lab["meg"])
    child = _launch(token_client(lab["meg"]), meg_data.pk, None)
    assert child.status_code == 201
    from_team = token_client(lab["meg"]).post(
        "/api/v1/jobs/",
        {"name": "On the team's model", "dataset": meg_data.pk, "base_model": key},
        format="json",
    )
    assert from_team.status_code == 201, from_team.json()
    assert from_team.json()["parent_job"] == job.pk


def test_estimates_are_calibrated_only_from_jobs_the_user_may_see(lab, owner, settings):
    """Three finished jobs of a team calibrate its members' estimates; an outsider's estimate
    for the same work counts none of them."""
    dataset = make_dataset(owner)
    for _ in range(3):
        make_job(
            owner,
            dataset,
            team=lab["team"],
            status=Job.Status.SUCCEEDED,
            actual={"seconds": 5.0, "device_kind": "cpu", "total_steps": 10},
            hyperparameters={"max_seq_length": 64, "batch_size": 8, "epochs": 1},
        )
    request = {"base_model": "builtin-tiny", "hyperparameters": {"max_seq_length": 64}}
    member = token_client(lab["meg"])
    meg_data = make_dataset(lab["meg"])
    seen = member.post("/api/v1/jobs/estimate/", {**request, "dataset": meg_data.pk}, "json")
    assert "calibrated from 3 finished jobs" in seen.json()["estimate"]["basis"]
    outsider = token_client(lab["bob"])
    bob_data = make_dataset(lab["bob"])
    unseen = outsider.post("/api/v1/jobs/estimate/", {**request, "dataset": bob_data.pk}, "json")
    assert unseen.status_code == 200
    assert "calibrated" not in unseen.json()["estimate"]["basis"]
