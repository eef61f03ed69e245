"""No request to the API answers with a 500 or an HTML page: deeply nested JSON and oversized
bodies are JSON errors, on every JSON endpoint including the unauthenticated token endpoint."""

import pytest

pytestmark = pytest.mark.django_db

NESTED = "[" * 1000 + "]" * 1000
JSON_ENDPOINTS = [
    "/api/v1/auth/token/",
    "/api/v1/jobs/",
    "/api/v1/jobs/estimate/",
    "/api/v1/datasets/",
]


@pytest.mark.parametrize("url", JSON_ENDPOINTS)
def test_json_nested_1000_levels_deep_is_a_400_json_error(owner_api, url):
    response = owner_api.post(url, NESTED, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


def test_nested_json_in_a_patch_is_a_400(owner, owner_api):
    from tests.jobs.factories import make_job

    job = make_job(owner)
    body = '{"notes": ' + NESTED + "}"
    response = owner_api.patch(f"/api/v1/jobs/{job.pk}/", body, content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_body_over_the_size_limit_is_a_json_413(api_client, settings, content_type):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = '{"username": "' + "a" * 5000 + '", "password": "x"}'
    if content_type.endswith("urlencoded"):
        body = "username=" + "a" * 5000 + "&password=x"
    response = api_client.post("/api/v1/auth/token/", body, content_type=content_type)
    assert response.status_code == 413
    assert "REQUEST_BODY_MAX_KB" in response.json()["detail"]


def test_a_session_client_posting_an_oversized_form_gets_json_not_html(client, owner, settings):
    client.force_login(owner)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = client.post(
        "/api/v1/jobs/",
        "name=" + "a" * 5000,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code in (400, 403, 413)
    assert response["Content-Type"].startswith("application/json")


def test_json_that_is_not_utf8_or_uses_nan_is_a_400(api_client):
    for body in [b'{"username": "\xff"}', b'{"username": NaN}']:
        response = api_client.post("/api/v1/auth/token/", body, content_type="application/json")
        assert response.status_code == 400
        assert "JSON parse error" in response.json()["detail"]
