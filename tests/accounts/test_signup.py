"""Sign-up: closed by the operator, invitations from staff, and stronger password rules."""

import re

import pytest
from django.contrib.auth.models import User

pytestmark = pytest.mark.django_db


def sign_up(client, username, password, email=None):
    return client.post(
        "/accounts/signup/",
        {
            "username": username,
            "email": email or f"{username}@example.com",
            "password1": password,
            "password2": password,
        },
    )


@pytest.mark.parametrize(
    ("username", "password", "reason"),
    [
        ("grace", "Summer2024", "too common"),
        ("dave", "dave1234", "too similar to the username"),
        ("henry", "Password1!", "too common"),
        ("ivy", "ivy.example@2024", "too similar"),
    ],
)
def test_common_or_personal_passwords_are_refused(client, username, password, reason):
    response = sign_up(client, username, password, email=f"{username}.example@example.com")
    assert response.status_code == 200
    assert reason in response.content.decode()
    assert not User.objects.filter(username=username).exists()


def test_a_strong_password_is_accepted(client, mailoutbox):
    response = sign_up(client, "dave", "violet kettle 19 drums")
    assert response.status_code == 302
    assert User.objects.filter(username="dave").exists()


def test_with_sign_up_closed_the_page_says_so_and_nothing_is_created(client, settings):
    settings.SIGNUP_OPEN = False
    page = client.get("/accounts/signup/")
    assert page.status_code == 403
    assert "Sign-up is closed" in page.content.decode()
    assert sign_up(client, "grace", "violet kettle 19 drums").status_code == 403
    assert not User.objects.filter(username="grace").exists()


def test_staff_invite_an_account_by_email_and_its_owner_chooses_a_password(
    client, operator, settings, mailoutbox
):
    settings.SIGNUP_OPEN = False
    grace = User.objects.create_user("grace", "grace@example.com")  # no usable password yet
    client.force_login(operator)
    client.post(
        "/admin/auth/user/", {"action": "invite", "_selected_action": [grace.pk]}, follow=True
    )
    assert mailoutbox[-1].to == ["grace@example.com"]
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mailoutbox[-1].body).group(1)
    client.logout()
    form_url = client.get(link, follow=True).redirect_chain[-1][0]
    new = "violet kettle 19 drums"
    client.post(form_url, {"new_password1": new, "new_password2": new})
    assert client.login(username="grace", password=new)


class CountingHasher:
    """Django's PBKDF2 hasher, cheap, counting the passwords it hashes."""

    hashed = 0

    @staticmethod
    def make():
        from django.contrib.auth.hashers import PBKDF2PasswordHasher

        class Hasher(PBKDF2PasswordHasher):
            algorithm = "counting_pbkdf2"
            iterations = 1

            def encode(self, password, salt, iterations=None):
                CountingHasher.hashed += 1
                return super().encode(password, salt, iterations)

        return Hasher


COUNTING = CountingHasher.make()


def test_a_taken_address_does_the_same_work_as_a_new_one(client, owner, settings, mailoutbox):
    """The password is hashed whether or not the address has an account, so the time the
    answer takes does not tell (the hash is most of it); only the mail differs."""
    settings.PASSWORD_HASHERS = [f"{__name__}.COUNTING"]
    CountingHasher.hashed = 0
    new = sign_up(client, "grace", "plum-tree-orbit-41", email="grace@example.com")
    hashed_for_new = CountingHasher.hashed
    taken = sign_up(client, "someone", "plum-tree-orbit-41", email=owner.email)
    assert hashed_for_new >= 1 and CountingHasher.hashed == 2 * hashed_for_new
    assert new.status_code == taken.status_code == 302
    assert new["Location"] == taken["Location"]
    assert len(mailoutbox) == 2
