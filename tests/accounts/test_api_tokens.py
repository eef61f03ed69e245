from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import ApiToken, hash_token

pytestmark = pytest.mark.django_db


def issue_token(api_client, password, username="ada", name="script"):
    response = api_client.post(
        "/api/v1/auth/token/",
        {"username": username, "password": password, "name": name},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_a_token_from_username_and_password_opens_the_api(api_client, owner, password):
    body = issue_token(api_client, password)
    assert body["expiry"]
    response = api_client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert response.status_code == 200
    assert response.json()["username"] == "ada"


def test_me_without_a_token_is_401(api_client):
    response = api_client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_wrong_password_gets_no_token(api_client, owner):
    response = api_client.post(
        "/api/v1/auth/token/", {"username": "ada", "password": "nope"}, format="json"
    )
    assert response.status_code == 401
    assert "username and password" in response.json()["detail"]


def test_missing_fields_are_named(api_client):
    response = api_client.post("/api/v1/auth/token/", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) >= {"username", "password"}


def test_tokens_are_stored_only_as_a_hash(api_client, owner, password):
    raw = issue_token(api_client, password)["token"]
    token = ApiToken.objects.get(user=owner)
    assert token.key_hash == hash_token(raw)
    stored = [str(value) for value in ApiToken.objects.values_list(flat=False).get()]
    assert raw not in stored


def test_logout_revokes_only_the_token_used(api_client, owner, password):
    first = issue_token(api_client, password, name="laptop")["token"]
    second = issue_token(api_client, password, name="ci")["token"]
    response = api_client.post("/api/v1/auth/logout/", HTTP_AUTHORIZATION=f"Token {first}")
    assert response.status_code == 200
    assert api_client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {first}").status_code == 401
    assert api_client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {second}").status_code == 200


def test_an_expired_token_is_refused_with_the_reason(api_client, owner, password):
    raw = issue_token(api_client, password)["token"]
    ApiToken.objects.filter(user=owner).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api_client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {raw}")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_a_token_expires_after_the_configured_days(api_client, owner, password, settings):
    settings.API_TOKEN_TTL_DAYS = 7
    issue_token(api_client, password)
    token = ApiToken.objects.get(user=owner)
    assert timedelta(days=6, hours=23) < token.expires_at - timezone.now() <= timedelta(days=7)


def test_profile_creates_a_token_shown_once_then_renames_and_revokes_it(client, owner):
    client.force_login(owner)
    page = client.post("/accounts/tokens/", {"name": "notebook"}, follow=True).content.decode()
    token = ApiToken.objects.get(user=owner)
    shown = page.split('id="new-token-key">')[1].split("<")[0]
    assert hash_token(shown) == token.key_hash
    assert shown not in client.get("/accounts/profile/").content.decode()  # only once

    client.post(f"/accounts/tokens/{token.pk}/rename/", {"name": "jupyter"})
    token.refresh_from_db()
    assert token.name == "jupyter"

    client.post(f"/accounts/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.status == "revoked"
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {shown}").status_code == 401


def test_another_users_token_cannot_be_revoked_or_renamed(client, owner, other_user):
    token, _ = ApiToken.issue(user=other_user, name="theirs")
    client.force_login(owner)
    assert client.post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 404
    assert client.post(f"/accounts/tokens/{token.pk}/rename/", {"name": "mine"}).status_code == 404
    token.refresh_from_db()
    assert token.status == "active" and token.name == "theirs"
