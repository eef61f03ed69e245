"""The schema states what the server enforces (found by schemathesis's positive and negative
checks): an empty filter or page is refused as the schema says, ids out of range are a 400
naming the parameter, bodies are documented as JSON, and a text field refused blank says so."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url", "param"),
    [
        ("/api/v1/jobs/?status=", "status"),
        ("/api/v1/evaluations/?status=", "status"),
        ("/api/v1/evaluations/?job=-5447305626964948156416", "job"),
        ("/api/v1/evaluations/?dataset=99999999999999", "dataset"),
    ],
)
def test_an_empty_or_impossible_filter_is_a_400_naming_it(owner_api, url, param):
    response = owner_api.get(url)
    assert response.status_code == 400
    assert param in response.json()


def test_an_empty_page_is_no_page(owner_api):
    response = owner_api.get("/api/v1/webhooks/?page=")
    assert response.status_code == 404
    assert "Invalid page" in response.json()["detail"]


def test_the_schema_documents_json_bodies_and_non_blank_names(owner_api):
    schema = owner_api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    spec = schema.json()
    team_create = spec["paths"]["/api/v1/teams/"]["post"]["requestBody"]["content"]
    assert list(team_create) == ["application/json"]
    upload = spec["paths"]["/api/v1/datasets/"]["post"]["requestBody"]["content"]
    assert list(upload) == ["multipart/form-data"]
    name = spec["components"]["schemas"]["TeamWrite"]["properties"]["name"]
    assert name["minLength"] == 1 and name["pattern"] == r"\S"
