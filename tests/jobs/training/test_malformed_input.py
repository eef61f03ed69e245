"""Malformed ids and query strings get a normal answer (a page, a 400), never a server error."""

import pytest

from jobs.models import Job
from tests.jobs.factories import add_history, make_dataset, make_job

pytestmark = pytest.mark.django_db

SUPERSCRIPT_TWO = "\u00b2"  # str.isdigit() says yes, int() says no
TOO_BIG = "9" * 25  # beyond any database integer


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    client.raise_request_exception = False
    return client


@pytest.mark.parametrize("bad", [SUPERSCRIPT_TWO, TOO_BIG])
def test_compare_ignores_ids_that_are_not_plain_numbers(owner_client, owner, bad):
    first = make_job(owner, name="First", status=Job.Status.SUCCEEDED)
    second = make_job(owner, dataset=first.dataset, name="Second", status=Job.Status.SUCCEEDED)
    response = owner_client.get("/jobs/compare/", {"ids": [bad, str(first.pk), str(second.pk)]})
    assert response.status_code == 200
    assert [job.pk for job in response.context["chosen"]] == [first.pk, second.pk]


@pytest.mark.parametrize("param", ["from", "dataset"])
@pytest.mark.parametrize("bad", [SUPERSCRIPT_TWO, TOO_BIG])
def test_the_wizard_ignores_a_prefill_id_that_is_not_a_plain_number(owner_client, param, bad):
    assert owner_client.get("/jobs/new/", {param: bad}).status_code == 200


def test_the_live_feed_treats_out_of_range_cursors_as_missing(owner_client, owner):
    job = make_job(owner, status=Job.Status.RUNNING)
    add_history(job, steps=3)
    response = owner_client.get(
        f"/jobs/{job.pk}/live/",
        {"after_step": TOO_BIG, "after_event": "-" + TOO_BIG, "after_checkpoint": TOO_BIG},
    )
    assert response.status_code == 200
    assert [point["step"] for point in response.json()["metrics"]] == [1, 2, 3, 3]


def test_a_dashboard_search_with_a_nul_character_still_finds_the_job(owner_client, owner):
    make_job(owner, name="Sonnets")
    response = owner_client.get("/", {"q": "Son\x00nets"})
    assert response.status_code == 200
    assert [job.name for job in response.context["jobs"]] == ["Sonnets"]


def test_continuing_from_a_job_id_that_is_not_a_plain_number_is_a_field_error(owner_api, owner):
    dataset = make_dataset(owner)
    response = owner_api.post(
        "/api/v1/jobs/",
        {"name": "x", "dataset": dataset.pk, "base_model": f"job-{SUPERSCRIPT_TWO}"},
        format="json",
    )
    assert response.status_code == 404
    assert "Unknown base model" in response.json()["base_model"][0]
