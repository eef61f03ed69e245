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
    assert name["minLength"] == 1 and name["pattern"] == r"^[^\u0000]*[^\s\u0000][^\u0000]*$"


def test_a_json_value_of_the_wrong_type_is_a_400_naming_the_field(owner_api, owner):
    named = owner_api.post("/api/v1/teams/", {"name": 0}, format="json")
    assert named.status_code == 400
    assert named.json() == {"name": ["Expected a string, got a number."]}
    hook = owner_api.post(
        "/api/v1/webhooks/", {"url": "http://x", "events": ["job.failed", 3]}, format="json"
    )
    assert hook.status_code == 400 and hook.json()["events"] == ["Expected a string, got a number."]
    job = owner_api.post(
        "/api/v1/jobs/", {"name": "x", "dataset": "5", "base_model": "builtin-tiny"}, format="json"
    )
    assert job.status_code == 400
    assert job.json()["dataset"] == ["Expected an integer, got a string."]
    # A form carries only text: its values are converted as before.
    form = owner_api.post("/api/v1/teams/", {"name": "Lab"}, format="multipart")
    assert form.status_code == 201 and form.json()["name"] == "Lab"


def test_naming_only_things_that_do_not_exist_is_a_404_that_names_the_fields(owner_api):
    body = {"name": "x", "dataset": 987654, "base_model": "builtin-tiny"}
    response = owner_api.post("/api/v1/jobs/", body, format="json")
    assert response.status_code == 404
    assert response.json() == {"dataset": ["No dataset with id 987654"]}
    # with another fault as well, it is a 400 naming both
    both = owner_api.post("/api/v1/jobs/", {"dataset": 987654, "base_model": "builtin-tiny"})
    assert both.status_code == 400 and set(both.json()) == {"name", "dataset"}


def test_wrong_credentials_are_a_401_saying_so(api_client, owner):
    response = api_client.post(
        "/api/v1/auth/token/", {"username": "ada", "password": "wrong"}, format="json"
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")
    assert "username and password" in response.json()["detail"]


def test_closed_objects_list_their_names_and_ranges(owner_api):
    spec = owner_api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    hyper = spec["components"]["schemas"]["Hyperparameters"]
    assert hyper["additionalProperties"] is False
    assert hyper["properties"]["epochs"]["maximum"] == 100
    create = spec["components"]["schemas"]["EvaluationCreate"]["properties"]["generation"]
    assert create["additionalProperties"] is False
    assert create["properties"]["batch_size"] == {"type": "integer", "minimum": 1, "maximum": 64}
    member = spec["components"]["schemas"]["MemberAdd"]
    assert member["anyOf"] == [{"required": ["username"]}, {"required": ["email"]}]
    members = spec["paths"]["/api/v1/teams/{id}/members/"]["post"]["requestBody"]
    assert members["required"] is True


def test_an_unknown_path_with_a_newline_is_a_json_404(owner_api):
    response = owner_api.get("/api/v1/jobs/1/invitations/x%0A/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
