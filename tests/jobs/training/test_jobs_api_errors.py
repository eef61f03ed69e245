"""The jobs API's refusals read as plain answers about the API, in JSON, never framework jargon."""

import pytest

from jobs.models import Job
from tests.jobs.factories import make_dataset, make_job

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("field", ["dataset", "validation_dataset"])
def test_launching_on_a_dataset_that_is_not_mine_says_no_dataset_with_that_id(
    owner_api, owner, other_user, field
):
    mine = make_dataset(owner)
    theirs = make_dataset(other_user)
    for pk in (theirs.pk, theirs.pk + 1000):
        body = {"name": "x", "dataset": mine.pk, "base_model": "builtin-tiny", field: pk}
        response = owner_api.post("/api/v1/jobs/", body, format="json")
        assert response.status_code == 404
        assert response.json() == {field: [f"No dataset with id {pk}"]}
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    "method,path",
    [
        ("post", "/api/v1/jobs/abc/generate/"),
        ("get", "/api/v1/jobs/abc/"),
        ("get", "/api/v1/nothing-here/"),
        ("delete", "/api/v1/jobs/1/nonsense/"),
        ("get", "/api/v1/"),
    ],
)
def test_an_address_no_endpoint_answers_is_a_json_404(owner_api, method, path):
    owner_api.handler.enforce_csrf_checks = True  # as for a real client sending only its token
    response = getattr(owner_api, method)(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_a_missing_trailing_slash_is_a_json_404_that_names_the_right_address(owner_api):
    response = owner_api.get("/api/v1/jobs")
    assert response.status_code == 404
    assert response.json() == {
        "detail": "Not found. Did you mean /api/v1/jobs/ (with a trailing slash)?"
    }


def test_generating_or_downloading_before_the_job_succeeds_names_the_job_and_its_state(
    owner_api, owner
):
    job = make_job(owner, status=Job.Status.RUNNING)
    expected = f"Job {job.pk} is running: its model exists once it has succeeded."
    for response in (
        owner_api.post(f"/api/v1/jobs/{job.pk}/generate/", {"prompt": "Hi"}, format="json"),
        owner_api.get(f"/api/v1/jobs/{job.pk}/model/"),
    ):
        assert response.status_code == 409
        assert response.json() == {"detail": expected}
        assert "playground" not in response.json()["detail"]
    failed = make_job(owner, status=Job.Status.FAILED)
    response = owner_api.get(f"/api/v1/jobs/{failed.pk}/model/")
    assert response.json()["detail"] == (
        f"Job {failed.pk} failed, so it has no model: only a succeeded job has one."
    )


def test_cancel_and_delete_conflicts_name_the_job_and_what_to_do(owner_api, owner):
    running = make_job(owner, status=Job.Status.RUNNING)
    response = owner_api.delete(f"/api/v1/jobs/{running.pk}/")
    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"Job {running.pk} is running: cancel it, then delete it once it has stopped."
    )
    done = make_job(owner, status=Job.Status.SUCCEEDED)
    child = make_job(owner, status=Job.Status.SUCCEEDED, parent_job=done)
    response = owner_api.post(f"/api/v1/jobs/{done.pk}/cancel/")
    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"Job {done.pk} has already succeeded: there is nothing to cancel."
    )
    response = owner_api.delete(f"/api/v1/jobs/{done.pk}/")
    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"Other jobs continue from job {done.pk}'s model (#{child.pk}): delete them first."
    )
