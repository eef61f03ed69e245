"""GET /api/v1/jobs/ lists summaries: what a list shows, a link to the whole job; ?full=1 gives
whole jobs."""

import pytest

from tests.jobs.factories import make_dataset, make_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(owner):
    return make_job(
        owner,
        make_dataset(owner),
        hyperparameter_reasons={"learning_rate": "Auto: " + "long reason " * 50},
        estimate={"seconds": 12.5, "cost": 0.01},
    )


def test_list_items_are_summaries_with_the_link_to_the_full_job(owner_api, job):
    item = owner_api.get("/api/v1/jobs/").json()["results"][0]
    assert item["id"] == job.pk and item["name"] == "Fox job"
    assert item["status"] == "queued" and item["progress"]["total_steps"] == 10
    assert item["dataset_name"] == "Fox lines" and item["base_model"] == "builtin-tiny"
    assert "hyperparameter_reasons" not in item and "estimate" not in item
    full = owner_api.get(item["url"]).json()
    assert full["estimate"]["seconds"] == 12.5
    # A summary's fields read the same in the full job.
    for key, value in item.items():
        assert full[key] == value, key


def test_full_1_gives_whole_jobs_in_the_list(owner_api, job):
    item = owner_api.get("/api/v1/jobs/?full=1").json()["results"][0]
    assert item["hyperparameter_reasons"]["learning_rate"].startswith("Auto: ")
    assert item["estimate"]["cost"] == 0.01


def test_a_page_of_summaries_is_less_than_half_the_size(owner, owner_api, job):
    for i in range(19):
        make_job(
            owner, job.dataset, name=f"job {i}", hyperparameter_reasons=job.hyperparameter_reasons
        )
    summaries = owner_api.get("/api/v1/jobs/").content
    full = owner_api.get("/api/v1/jobs/?full=1").content
    assert len(summaries) * 2 < len(full)


def test_full_must_be_a_boolean(owner_api):
    response = owner_api.get("/api/v1/jobs/?full=maybe")
    assert response.status_code == 400
    assert "full" in response.json()
