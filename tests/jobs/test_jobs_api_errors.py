"""The jobs API's refusals read as plain answers about the API, in JSON, never framework jargon."""

import pytest

from jobs.models import Job
from tests.jobs.factories import make_dataset

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
        assert response.status_code == 400
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
