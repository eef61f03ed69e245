"""POST /api/v1/jobs/estimate/: values, reasons and the estimate; another user's dataset, an
invalid one and bad fields."""

import pytest

from jobs.models import Dataset
from jobs.planning.hyperparameters import HYPERPARAMETERS
from tests.jobs.planning.builders import data

pytestmark = pytest.mark.django_db


URL = "/api/v1/jobs/estimate/"


# --- The endpoint ----------------------------------------------------------------------------


def test_the_endpoint_returns_values_reasons_steps_and_the_estimate(owner, owner_api):
    dataset = data(owner, bins=[(0, 49, 300)])
    response = owner_api.post(
        URL,
        {
            "dataset": dataset.pk,
            "base_model": "builtin-tiny",
            "method": "full",
            "hyperparameters": {"epochs": 2},
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body["hyperparameters"]) == set(HYPERPARAMETERS) == set(body["reasons"])
    assert body["fixed"] == ["epochs"] and body["reasons"]["epochs"] == "set by you"
    assert body["total_steps"] > 0 and body["total_tokens"] > 0
    estimate = body["estimate"]
    for key in (
        "seconds",
        "tokens_per_second",
        "peak_memory_bytes",
        "device_memory_bytes",
        "fits",
        "cost",
        "currency",
        "device_kind",
        "basis",
    ):
        assert key in estimate
    assert estimate["fits"] is True and estimate["basis"] == "FLOPs estimate"


def test_another_users_dataset_reads_as_no_such_dataset(owner, other_api):
    dataset = data(owner, bins=[(0, 49, 300)])
    response = other_api.post(
        URL, {"dataset": dataset.pk, "base_model": "builtin-tiny"}, format="json"
    )
    assert response.status_code == 404
    assert response.json() == {"dataset": [f"No dataset with id {dataset.pk}"]}
    missing = other_api.post(URL, {"dataset": 999999, "base_model": "builtin-tiny"}, format="json")
    assert missing.json() == {"dataset": ["No dataset with id 999999"]}


def test_the_endpoint_explains_an_invalid_dataset_and_bad_fields(owner, owner_api):
    broken = data(owner, bins=[(0, 49, 300)])
    broken.status, broken.error_count = Dataset.Status.INVALID, 3
    broken.save(update_fields=["status", "error_count"])
    response = owner_api.post(
        URL, {"dataset": broken.pk, "base_model": "builtin-tiny"}, format="json"
    )
    assert response.status_code == 400
    assert "invalid (3 problems): see its report" in response.json()["dataset"][0]

    good = data(owner, bins=[(0, 49, 300)])
    body = {
        "dataset": good.pk,
        "base_model": "builtin-tiny",
        "hyperparameters": {"learning_rate": 1, "speed": 3},
    }
    assert (
        "Unknown hyperparameter: speed"
        in owner_api.post(URL, body, format="json").json()["hyperparameters"][0]
    )
    body["hyperparameters"] = {"learning_rate": 1}
    assert "hyperparameters.learning_rate" in owner_api.post(URL, body, format="json").json()
    unknown_model = {"dataset": good.pk, "base_model": "gpt-9"}
    assert "base_model" in owner_api.post(URL, unknown_model, format="json").json()


def test_the_endpoint_needs_a_signed_in_user(api_client):
    assert api_client.post(
        URL, {"dataset": 1, "base_model": "builtin-tiny"}, format="json"
    ).status_code in (401, 403)


def test_continuing_a_finished_job_starts_from_trained_weights(
    owner, owner_api, other_user, other_api
):
    from tests.jobs.factories import give_tiny_model, make_job

    dataset = data(owner, bins=[(0, 49, 300)])
    parent = make_job(owner, dataset=dataset)
    give_tiny_model(parent)
    body = {"dataset": dataset.pk, "base_model": f"job-{parent.pk}"}
    response = owner_api.post(URL, body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["hyperparameters"]["learning_rate"] == 5e-5
    assert "pretrained" in response.json()["reasons"]["learning_rate"]
    other_dataset = data(other_user, bins=[(0, 49, 300)])
    body = {"dataset": other_dataset.pk, "base_model": f"job-{parent.pk}"}
    assert "base_model" in other_api.post(URL, body, format="json").json()
