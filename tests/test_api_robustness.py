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


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def bearer(owner):
    """A client of the OpenAI-compatible surface: the owner's token as a Bearer token."""
    from django.test import Client

    from accounts.models import ApiToken

    _, key = ApiToken.issue(user=owner, name="openai")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


@pytest.mark.parametrize("depth_json", [NESTED, DEEP])
@pytest.mark.parametrize(
    "url", ["/openai/v1/chat/completions", "/openai/v1/completions", "/openai/v1/fine_tuning/jobs"]
)
def test_deep_json_on_the_openai_surface_is_an_openai_shaped_400(bearer, url, depth_json):
    body = '{"model": "builtin-tiny", "messages": ' + depth_json + "}"
    response = bearer.post(url, body, content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert "nested too deeply" in error["message"] and error["type"] == "invalid_request_error"


def test_deep_json_inside_column_mapping_is_a_400_naming_it(owner_api):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("a.txt", b"a line\n" * 20)
    response = owner_api.post(
        "/api/v1/datasets/", {"file": upload, "column_mapping": DEEP}, format="multipart"
    )
    assert response.status_code == 400
    assert "nested too deeply" in str(response.json()["column_mapping"])


@pytest.mark.parametrize("text", ["a\\u0000b", "a\\ud800b"])
def test_nul_or_a_lone_surrogate_is_a_400_naming_the_field_not_a_500(
    owner, owner_api, bearer, text
):
    from tests.jobs.factories import make_job

    job = make_job(owner)
    body = '{"notes": "' + text + '"}'
    response = owner_api.patch(f"/api/v1/jobs/{job.pk}/", body, content_type="application/json")
    assert response.status_code == 400
    assert "NUL character or a lone surrogate" in str(response.json()["notes"])
    token = '{"username": "' + text + '", "password": "x"}'
    answer = owner_api.post("/api/v1/auth/token/", token, content_type="application/json")
    assert answer.status_code == 400 and "username" in answer.json()
    metadata = '{"model": "builtin-tiny", "training_file": "file-1", "metadata": {"k": "' + text
    response = bearer.post(
        "/openai/v1/fine_tuning/jobs", metadata + '"}}', content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["error"]["param"] == "metadata.k"


def test_a_metadata_filter_key_is_a_plain_key_never_an_orm_lookup(owner, bearer):
    from tests.jobs.factories import make_job

    job = make_job(owner, metadata={"project": "paint", "k__regex": "("})
    url = "/openai/v1/fine_tuning/jobs"

    def ids(query):
        response = bearer.get(url, query)
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["data"]]

    assert ids({"metadata[project]": "paint"}) == [f"ftjob-{job.pk}"]
    assert ids({"metadata[k__regex]": "("}) == [f"ftjob-{job.pk}"]
    assert ids({"metadata[project__regex]": "("}) == []
    assert ids({"metadata[project]": "other"}) == []


def test_only_ascii_digits_make_an_id(owner, bearer, owner_api):
    from tests.jobs.factories import make_job

    job = make_job(owner)
    assert bearer.get(f"/openai/v1/fine_tuning/jobs/ftjob-{job.pk}").status_code == 200
    arabic = str(job.pk).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    for spelling in (f"ftjob-{arabic}", "ftjob-²", f"ftjob-{job.pk}²"):
        response = bearer.get(f"/openai/v1/fine_tuning/jobs/{spelling}")
        assert response.status_code == 404 and response.json()["error"]["code"]
    body = {"model": f"job-{arabic}", "dataset": job.dataset_id}
    refused = owner_api.post("/api/v1/evaluations/", body, format="json")
    assert refused.status_code == 400 and "Unknown base model" in str(refused.json()["model"])


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "builtin-tiny", "prompt": "Hi", "seed": 2**70}, "seed"),
        ({"model": "builtin-tiny", "prompt": "Hi", "seed": -1}, "seed"),
        ('{"model": "builtin-tiny", "prompt": "Hi \\ud800"}', "prompt"),
    ],
)
def test_a_client_mistake_in_generation_is_a_400_naming_it_not_a_retryable_503(bearer, body, param):
    import json

    text = body if isinstance(body, str) else json.dumps(body)
    response = bearer.post("/openai/v1/completions", text, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
    assert response["x-should-retry"] == "false"


def _openai_shaped(response, status):
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    return error


def test_every_error_under_openai_v1_is_openai_shaped(bearer, settings, rf):
    from tunerproject.views import server_error

    assert _openai_shaped(bearer.get("/openai/v1/nope"), 404)["code"] == "unknown_url"
    _openai_shaped(bearer.post("/openai/v1/fine_tuning/nope", {}), 404)
    _openai_shaped(bearer.delete("/openai/v1/completions"), 405)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    big = '{"model": "builtin-tiny", "prompt": "' + "a" * 5000 + '"}'
    response = bearer.post("/openai/v1/completions", big, content_type="application/json")
    assert _openai_shaped(response, 413)["code"] == "body_too_large"
    crashed = server_error(rf.get("/openai/v1/models"))
    assert crashed.status_code == 500
    assert b'"type": "server_error"' in crashed.content
