"""Throttles: each limited action answers 429 with Retry-After past its per-user or per-IP rate,
in the API and in the portal forms alike."""

import threading

import pytest
from django.contrib.auth.signals import user_login_failed
from django.db import connection
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def set_rates(settings, **rates):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, **rates}


def test_token_creation_is_throttled_per_username_with_retry_after(api_client, owner, settings):
    # Hourly windows: counts are per clock window, and a minute's boundary falling between
    # two requests of a test would reset them.
    set_rates(settings, token_user="2/hour", token_ip="100/hour")
    for _ in range(2):
        body = {"username": "ada", "password": "bad"}
        assert api_client.post("/api/v1/auth/token/", body, format="json").status_code == 401
    response = api_client.post(
        "/api/v1/auth/token/", {"username": "ada", "password": "x"}, format="json"
    )
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600
    assert "throttled" in response.json()["detail"]
    # Another username from the same address still gets its own allowance.
    other = api_client.post(
        "/api/v1/auth/token/", {"username": "bob", "password": "bad"}, format="json"
    )
    assert other.status_code == 401


def test_token_creation_is_throttled_per_address_across_usernames(api_client, settings):
    set_rates(settings, token_user="100/hour", token_ip="3/hour")
    codes = [
        api_client.post(
            "/api/v1/auth/token/", {"username": f"u{i}", "password": "x"}, format="json"
        ).status_code
        for i in range(4)
    ]
    assert codes == [401, 401, 401, 429]


def test_job_launch_and_generation_are_throttled_per_user(owner_api, settings):
    set_rates(settings, launch_user="1/hour", generate_user="1/hour")
    body = {"name": "x", "dataset": 999, "base_model": "builtin-tiny"}
    assert owner_api.post("/api/v1/jobs/", body, format="json").status_code == 404
    response = owner_api.post("/api/v1/jobs/", body, format="json")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600  # until the hour's window ends
    assert owner_api.post("/api/v1/jobs/999/generate/", {}, format="json").status_code == 404
    assert owner_api.post("/api/v1/jobs/999/generate/", {}, format="json").status_code == 429
    # Reading is never throttled.
    assert owner_api.get("/api/v1/jobs/").status_code == 200


def test_dataset_upload_is_throttled_per_user_but_not_for_others(owner_api, other_api, settings):
    set_rates(settings, upload_user="1/hour")
    assert owner_api.post("/api/v1/datasets/", {}, format="multipart").status_code == 400
    assert owner_api.post("/api/v1/datasets/", {}, format="multipart").status_code == 429
    assert other_api.post("/api/v1/datasets/", {}, format="multipart").status_code == 400


def test_portal_sign_up_shares_the_limits_and_answers_429(client, settings):
    set_rates(settings, signup_ip="2/hour")
    for i in range(2):
        client.post("/accounts/signup/", {"username": f"n{i}", "email": f"n{i}@example.com"})
    response = client.post("/accounts/signup/", {"username": "n9", "email": "n9@example.com"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many requests" in response.content.decode()


def test_password_reset_mail_is_throttled_per_address_asked_for(
    client, owner, settings, mailoutbox
):
    set_rates(settings, password_reset_user="1/hour", password_reset_ip="100/hour")
    client.post("/accounts/password/reset/", {"email": "ada@example.com"})
    response = client.post("/accounts/password/reset/", {"email": "ada@example.com"})
    assert response.status_code == 429
    assert len(mailoutbox) == 1


def test_a_bad_rate_stops_start_up_naming_the_variable(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from tunerproject.env import env_rate

    monkeypatch.setenv("THROTTLE_TOKEN_IP", "ten a minute")
    with pytest.raises(ImproperlyConfigured, match="THROTTLE_TOKEN_IP"):
        env_rate("THROTTLE_TOKEN_IP", "10/min")
    monkeypatch.setenv("THROTTLE_TOKEN_IP", "off")
    assert env_rate("THROTTLE_TOKEN_IP", "10/min") is None


@pytest.mark.django_db(transaction=True)
def test_concurrent_wrong_passwords_check_the_password_at_most_the_limit(owner, settings):
    """24 simultaneous wrong passwords with a limit of 5: at most 5 password checks."""
    settings.LOGIN_FAILURE_LIMIT = 5
    set_rates(settings, token_user=None, token_ip=None)
    checked, codes, lock = [], [], threading.Lock()

    def count_check(sender, **kwargs):
        with lock:
            checked.append(1)

    user_login_failed.connect(count_check)
    start = threading.Barrier(24)

    def attempt():
        try:
            start.wait()
            response = APIClient().post(
                "/api/v1/auth/token/", {"username": "ada", "password": "wrong"}, format="json"
            )
            with lock:
                codes.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(24)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        user_login_failed.disconnect(count_check)
    assert len(codes) == 24
    assert len(checked) <= 5
    assert codes.count(401) == len(checked)
    assert codes.count(429) == 24 - len(checked)


def test_every_door_counts_the_same_throttle(owner, owner_api, client, settings):
    """Uploads, launches and generations through /api/v1, /openai/v1 and the portal use up one
    allowance: once the REST API says 429, so do the OpenAI surface and the portal forms."""
    from django.test import Client

    from accounts.models import ApiToken
    from tests.jobs.factories import give_tiny_model, make_job

    set_rates(settings, upload_user="1/day", launch_user="1/day", generate_user="1/day")
    _, key = ApiToken.issue(user=owner, name="openai")
    openai = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    client.force_login(owner)
    job = make_job(owner)
    give_tiny_model(job)

    assert owner_api.post("/api/v1/datasets/", {}, format="multipart").status_code == 400
    answer = openai.post("/openai/v1/files", {"purpose": "fine-tune"})
    assert answer.status_code == 429 and answer.json()["error"]["code"] == "rate_limit_exceeded"
    assert int(answer["Retry-After"]) > 0
    assert client.post("/datasets/", {}).status_code == 429

    body = {"model": "builtin-tiny", "training_file": "file-999"}
    assert openai.post("/openai/v1/fine_tuning/jobs", body, "application/json").status_code == 404
    assert owner_api.post("/api/v1/jobs/", {}, format="json").status_code == 429
    assert client.post("/jobs/new/", {}).status_code == 429
    assert client.post("/evaluations/new/", {}).status_code == 429

    prompt = {"model": "builtin-tiny", "prompt": "Hi", "max_tokens": 1}
    assert openai.post("/openai/v1/completions", prompt, "application/json").status_code == 200
    chat = {"model": "builtin-tiny", "messages": [{"role": "user", "content": "Hi"}]}
    assert openai.post("/openai/v1/chat/completions", chat, "application/json").status_code == 429
    assert client.post(f"/jobs/{job.pk}/playground/", {"prompt": "Hi"}).status_code == 429
    generate = owner_api.post(f"/api/v1/jobs/{job.pk}/generate/", {"prompt": "Hi"}, format="json")
    assert generate.status_code == 429
