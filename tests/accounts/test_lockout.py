import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 6
    settings.LOGIN_ACCOUNT_FAILURE_LIMIT = 9
    settings.LOGIN_LOCKOUT_MINUTES = 15


def fail_portal_sign_ins(client, times, username="ada"):
    for _ in range(times):
        client.post("/accounts/login/", {"username": username, "password": "wrong"})


def test_the_portal_locks_an_account_after_repeated_failures_even_for_the_right_password(
    client, owner, password
):
    fail_portal_sign_ins(client, 3)
    response = client.post("/accounts/login/", {"username": "ada", "password": password})
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_lockout_ends_after_the_window(client, owner, password):
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import FailedLogin

    fail_portal_sign_ins(client, 3)
    FailedLogin.objects.update(created_at=timezone.now() - timedelta(minutes=16))
    client.post("/accounts/login/", {"username": "ada", "password": password})
    assert client.session["_auth_user_id"] == str(owner.pk)


def test_fewer_failures_than_the_limit_still_allow_sign_in_and_are_forgotten(
    client, owner, password
):
    from accounts.models import FailedLogin

    fail_portal_sign_ins(client, 2)
    client.post("/accounts/login/", {"username": "ada", "password": password})
    assert client.session["_auth_user_id"] == str(owner.pk)
    assert not FailedLogin.objects.filter(username="ada").exists()


def test_one_address_guessing_many_usernames_is_locked_out(client, owner, password):
    for name in ["x1", "x2", "x3", "x4", "x5", "x6"]:
        fail_portal_sign_ins(client, 1, username=name)
    response = client.post("/accounts/login/", {"username": "ada", "password": password})
    assert "Too many failed sign-ins" in response.content.decode()


def test_the_token_endpoint_shares_the_lockout_and_says_when_to_retry(api_client, owner, password):
    for _ in range(3):
        assert (
            api_client.post(
                "/api/v1/auth/token/", {"username": "ada", "password": "bad"}, format="json"
            ).status_code
            == 401
        )
    response = api_client.post(
        "/api/v1/auth/token/", {"username": "ada", "password": password}, format="json"
    )
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.json()["detail"]
    assert int(response["Retry-After"]) > 0


def test_the_admin_login_is_locked_by_portal_failures(client, operator, password):
    fail_portal_sign_ins(client, 3, username="ops")
    response = client.post("/admin/login/?next=/admin/", {"username": "ops", "password": password})
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_behind_the_proxy_a_forged_forwarded_for_does_not_escape_the_address_lockout(
    client, owner, settings
):
    # The proxy appends the address it saw; what the client wrote comes before it.
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    for i in range(6):  # LOGIN_ADDRESS_FAILURE_LIMIT
        client.post(
            "/accounts/login/",
            {"username": f"guess{i}", "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"10.9.9.{i}, 203.0.113.7",
            HTTP_X_FORWARDED_PROTO="https",
        )
    response = client.post(
        "/accounts/login/",
        {"username": "someone", "password": "wrong"},
        HTTP_X_FORWARDED_FOR="10.9.9.99, 203.0.113.7",
        HTTP_X_FORWARDED_PROTO="https",
    )
    assert "Too many failed sign-ins" in response.content.decode()


def test_behind_the_proxy_a_forwarded_for_that_is_not_an_address_is_ignored(client, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = client.post(
        "/accounts/login/",
        {"username": "someone", "password": "wrong"},
        HTTP_X_FORWARDED_FOR="not-an-address",
        HTTP_X_FORWARDED_PROTO="https",
    )
    assert response.status_code == 200


def test_the_portal_answers_a_locked_sign_in_with_429_and_retry_after(client, owner, password):
    fail_portal_sign_ins(client, 3)
    response = client.post("/accounts/login/", {"username": "ada", "password": password})
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 15 * 60
    assert "Too many failed sign-ins" in response.content.decode()


def test_failures_from_one_address_do_not_lock_the_owner_out_elsewhere(owner, password):
    from django.test import Client

    attacker, owner_client = Client(REMOTE_ADDR="203.0.113.7"), Client(REMOTE_ADDR="198.51.100.2")
    fail_portal_sign_ins(attacker, 5)
    locked = attacker.post("/accounts/login/", {"username": "ada", "password": password})
    assert locked.status_code == 429
    owner_client.post("/accounts/login/", {"username": "ada", "password": password})
    assert owner_client.session["_auth_user_id"] == str(owner.pk)


def test_many_addresses_failing_one_account_lock_it_for_everyone(owner, password):
    from django.test import Client

    for n in range(9):  # LOGIN_ACCOUNT_FAILURE_LIMIT, from nine addresses, two tries at most each
        fail_portal_sign_ins(Client(REMOTE_ADDR=f"203.0.113.{n + 1}"), 1)
    fresh = Client(REMOTE_ADDR="198.51.100.2")
    response = fresh.post("/accounts/login/", {"username": "ada", "password": password})
    assert response.status_code == 429
    assert "_auth_user_id" not in fresh.session
