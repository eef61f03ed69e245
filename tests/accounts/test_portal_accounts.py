import re

import pytest
from django.contrib.auth.models import User
from django.core import mail

pytestmark = pytest.mark.django_db


def test_a_visitor_signs_up_confirms_by_email_and_lands_on_the_dashboard_signed_in(
    client, mailoutbox
):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "grace",
            "email": "grace@example.com",
            "password1": "a long passphrase 77",
            "password2": "a long passphrase 77",
        },
        follow=True,
    )
    assert "Check your email" in response.content.decode()
    assert not User.objects.get(username="grace").is_active
    link = re.search(r"http://testserver(/accounts/signup/\S+/)", mailoutbox[0].body).group(1)
    response = client.get(link, follow=True)
    assert response.context["user"].username == "grace"
    assert b"No jobs yet" in response.content
    # The link works once.
    client.post("/accounts/logout/")
    assert client.get(link).status_code == 400


def test_sign_up_refuses_mismatched_passwords_and_says_so(client):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "grace",
            "email": "grace@example.com",
            "password1": "a long passphrase 77",
            "password2": "another one 88",
        },
    )
    assert response.status_code == 200
    assert "didn’t match" in response.content.decode()
    assert not User.objects.filter(username="grace").exists()


def test_sign_up_with_an_email_already_in_use_answers_as_for_a_new_one(client, owner, mailoutbox):
    def sign_up(username, email):
        body = {
            "username": username,
            "email": email,
            "password1": "a long passphrase 77",
            "password2": "a long passphrase 77",
        }
        return client.post("/accounts/signup/", body, follow=True)

    taken = sign_up("grace", owner.email.upper())
    fresh = sign_up("henry", "henry@example.com")
    assert taken.redirect_chain == fresh.redirect_chain
    assert taken.content == fresh.content
    assert not User.objects.filter(username="grace").exists()
    # The owner of the address hears about it, by email only.
    assert mailoutbox[0].to == [owner.email]
    assert "already has one" in mailoutbox[0].body


def test_sign_in_and_sign_out(client, owner, password):
    response = client.post(
        "/accounts/login/", {"username": "ada", "password": password}, follow=True
    )
    assert response.context["user"] == owner
    client.post("/accounts/logout/")
    response = client.get("/jobs/new/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")


def test_pages_need_a_signed_in_user(client):
    for url in ["/jobs/new/", "/accounts/profile/", "/datasets/"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_password_change(client, owner, password):
    client.force_login(owner)
    response = client.post(
        "/accounts/password/change/",
        {
            "old_password": password,
            "new_password1": "brand new secret 991",
            "new_password2": "brand new secret 991",
        },
        follow=True,
    )
    assert b"Password changed" in response.content
    owner.refresh_from_db()
    assert owner.check_password("brand new secret 991")


def test_password_reset_sends_a_link_that_sets_a_new_password(client, owner):
    client.post("/accounts/password/reset/", {"email": owner.email})
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form_url = client.get(link, follow=True).redirect_chain[-1][0]
    response = client.post(
        form_url,
        {"new_password1": "reset secret 12345", "new_password2": "reset secret 12345"},
        follow=True,
    )
    assert b"Password set" in response.content
    owner.refresh_from_db()
    assert owner.check_password("reset secret 12345")
