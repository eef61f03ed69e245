"""Read-only tokens, revocation on password change or reset, and the account audit log."""

import re

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiToken, AuditEvent

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a much better passphrase 77"


def token_client(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def issue_via_api(api_client, password, **extra):
    body = {"username": "ada", "password": password, **extra}
    response = api_client.post("/api/v1/auth/token/", body, format="json")
    assert response.status_code == 201
    return response.json()


def test_a_read_only_token_reads_but_every_change_is_a_403_saying_why(api_client, owner, password):
    issued = issue_via_api(api_client, password, read_only=True)
    assert issued["read_only"] is True
    client = token_client(issued["token"])
    assert client.get("/api/v1/jobs/").status_code == 200
    assert client.head("/api/v1/me/").status_code == 200
    for method, url in [
        ("post", "/api/v1/jobs/"),
        ("post", "/api/v1/datasets/"),
        ("patch", "/api/v1/jobs/1/"),
        ("delete", "/api/v1/datasets/1/"),
        ("post", "/api/v1/jobs/estimate/"),
    ]:
        response = getattr(client, method)(url, {}, format="json")
        assert response.status_code == 403, (method, url)
        assert "read-only" in response.json()["detail"]
    # It may still revoke itself.
    assert client.post("/api/v1/auth/logout/").status_code == 200
    assert client.get("/api/v1/me/").status_code == 401


def test_a_token_is_read_write_unless_asked(api_client, owner, password):
    issued = issue_via_api(api_client, password)
    assert issued["read_only"] is False
    response = token_client(issued["token"]).post("/api/v1/jobs/", {}, format="json")
    assert response.status_code == 400  # validated, not refused


def test_the_portal_creates_read_only_tokens_and_lists_their_access(client, owner, password):
    client.login(username="ada", password=password)
    client.post("/accounts/tokens/", {"name": "dashboards", "read_only": "on"})
    page = client.get("/accounts/profile/").content.decode()
    assert "read-only" in page
    assert ApiToken.objects.get(name="dashboards").read_only


def test_changing_the_password_revokes_every_token_and_the_page_says_so(client, owner, password):
    keys = [ApiToken.issue(user=owner, name=f"t{i}")[1] for i in range(2)]
    client.login(username="ada", password=password)
    response = client.post(
        "/accounts/password/change/",
        {"old_password": password, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    page = response.content.decode()
    assert "Your 2 API tokens were revoked" in page
    for key in keys:
        assert token_client(key).get("/api/v1/me/").status_code == 401
    assert "_auth_user_id" in client.session  # the browser session itself stays signed in


def test_resetting_the_password_revokes_every_token(client, owner, mailoutbox):
    _, key = ApiToken.issue(user=owner, name="script")
    client.post("/accounts/password/reset/", {"email": "ada@example.com"})
    link = re.search(r"/accounts/reset/\S+/", mailoutbox[0].body).group(0)
    form_url = client.get(link, follow=True).redirect_chain[-1][0]
    response = client.post(
        form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, follow=True
    )
    assert "Your 1 API token was revoked" in response.content.decode()
    assert token_client(key).get("/api/v1/me/").status_code == 401


def test_the_audit_log_shows_the_owner_sign_ins_failures_and_token_changes(
    client, owner, other_user, password
):
    client.post("/accounts/login/", {"username": "ada", "password": "wrong"})
    client.post("/accounts/login/", {"username": "ada", "password": password})
    client.post("/accounts/tokens/", {"name": "laptop"})
    token = ApiToken.objects.get(name="laptop")
    client.post(f"/accounts/tokens/{token.pk}/revoke/")
    kinds = list(AuditEvent.objects.filter(user=owner).values_list("kind", flat=True))
    assert kinds == ["token_revoked", "token_created", "sign_in", "sign_in_failed"]
    page = client.get("/accounts/profile/").content.decode()
    for label in ["Failed sign-in", "Signed in", "API token created", "API token revoked"]:
        assert label in page
    assert "“laptop”" in page
    # Another user's events are not on this page.
    client.force_login(other_user)
    assert "laptop" not in client.get("/accounts/profile/").content.decode()


def test_operators_read_the_audit_log_in_the_admin(client, owner, operator, password):
    client.post("/accounts/login/", {"username": "ada", "password": "wrong"})
    client.force_login(operator)
    page = client.get("/admin/accounts/auditevent/").content.decode()
    assert "Failed sign-in" in page and "ada" in page
    event = AuditEvent.objects.first()
    assert client.get(f"/admin/accounts/auditevent/{event.pk}/change/").status_code == 200
    response = client.post(f"/admin/accounts/auditevent/{event.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()
