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
