"""Each input is judged by one definition wherever it arrives: a launch and an estimate refuse
the same values with the same words (the API and the wizard alike), and the playground page asks
for what POST /generate/ accepts, with the same defaults and limits."""

import html

import pytest
from django.urls import reverse

from jobs.models import Dataset, Job
from tests.jobs.factories import give_tiny_model, make_dataset, make_job

pytestmark = pytest.mark.django_db

LAUNCH, ESTIMATE = "/api/v1/jobs/", "/api/v1/jobs/estimate/"


def launch_and_estimate(client, **fields):
    """The 400 bodies of POST /jobs/ and POST /jobs/estimate/ for the same request."""
    body = {"name": "same", "base_model": "builtin-tiny", **fields}
    launched, estimated = (client.post(url, body, format="json") for url in (LAUNCH, ESTIMATE))
    assert launched.status_code == estimated.status_code == 400
    return launched.json(), estimated.json()


def wizard_error(client, field, **fields):
    response = client.post(reverse("job-new"), {"base_model": "builtin-tiny", **fields})
    page = html.unescape(response.content.decode())
    start = page.index(f'id="error-{field}" role="alert">') + len(
        f'id="error-{field}" role="alert">'
    )
    return page[start : page.index("</p>", start)]


@pytest.mark.parametrize(
    "status,errors,expected",
    [
        (Dataset.Status.VALIDATING, 0, "'Fox lines' is still being checked; try again in a moment"),
        (Dataset.Status.INVALID, 2, "'Fox lines' is invalid (2 problems): see its report"),
    ],
)
def test_an_unusable_dataset_is_refused_in_the_same_words_everywhere(
    owner, owner_api, client, status, errors, expected
):
    dataset = make_dataset(owner)
    Dataset.objects.filter(pk=dataset.pk).update(status=status, error_count=errors)
    launched, estimated = launch_and_estimate(owner_api, dataset=dataset.pk)
    assert launched == estimated
    assert expected in launched["dataset"][0]
    client.force_login(owner)
    assert expected in wizard_error(client, "dataset", dataset=dataset.pk)
    assert expected in wizard_error(
        client, "validation_dataset", dataset=make_dataset(owner).pk, validation_dataset=dataset.pk
    )
    assert not Job.objects.exists()


def test_launch_and_estimate_refuse_the_same_bad_fields_with_the_same_words(owner, owner_api):
    dataset = make_dataset(owner)
    launched, estimated = launch_and_estimate(
        owner_api, dataset=dataset.pk, base_model="m" * 101, method="half"
    )
    assert launched == estimated
    assert "no more than 100 characters" in launched["base_model"][0]
    assert '"half" is not a valid choice.' in launched["method"][0]
    launched, estimated = launch_and_estimate(owner_api, dataset="abc")
    assert launched == estimated == {"dataset": ["Expected an integer, got a string."]}


def test_the_playground_page_asks_for_what_the_api_accepts_with_the_same_defaults(
    owner, client, owner_api
):
    job = make_job(owner)
    give_tiny_model(job)
    client.force_login(owner)
    page = client.get(reverse("job-playground", args=[job.pk])).content.decode()
    assert 'name="compare_base" id="id_compare_base" checked' in page
    assert 'name="max_new_tokens" value="64" min="1" max="256"' in page

    # Left out, compare_base is on for an API client too: the base model answers as well.
    api = owner_api.post(
        f"/api/v1/jobs/{job.pk}/generate/",
        {"prompt": "The fox", "max_new_tokens": 2, "temperature": 0},
        format="json",
    )
    assert api.status_code == 200 and "base_output" in api.json()

    too_many = {"prompt": "The fox", "max_new_tokens": 257, "temperature": 0.5, "top_p": 0.9}
    refused = owner_api.post(f"/api/v1/jobs/{job.pk}/generate/", too_many, format="json")
    shown = client.post(reverse("job-playground", args=[job.pk]), too_many).content.decode()
    message = refused.json()["max_new_tokens"][0]
    assert message == "Ensure this value is less than or equal to 256."
    assert message in shown
