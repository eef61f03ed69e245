"""Adding someone to a team or a job's shares by email is an invitation: the answer is the same
whether or not an account has the address, the address is mailed, and the invitation takes
effect when that address's account signs in (portal or API) or signs up and activates."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory
from django.utils import timezone

from accounts.models import Membership, TeamInvitation
from jobs.models import JobShare, ShareInvitation
from tests.conftest import PASSWORD
from tests.jobs.factories import make_job
from tests.teams_fixtures import make_team, make_user
from tunerproject.wsgi import application

pytestmark = pytest.mark.django_db


def invite(owner_api, team, email, role="viewer"):
    return owner_api.post(
        f"/api/v1/teams/{team.pk}/members/", {"email": email, "role": role}, format="json"
    )


def answer_without_address(response, email):
    """The answer with the address and what differs by the moment (id, times) taken out."""
    body = response.json()
    return {
        k: v.replace(email, "@") if isinstance(v, str) else v
        for k, v in body.items()
        if k not in ("id", "created_at", "expires_at")
    }


def test_inviting_an_address_answers_the_same_whoever_has_it(
    owner_api, owner, other_user, django_user_model, mailoutbox
):
    team = make_team(owner, member=other_user)
    make_user(django_user_model, "carol")
    answers = {
        "has an account": invite(owner_api, team, "carol@example.com"),
        "has none": invite(owner_api, team, "nobody@example.com"),
        "is in the team": invite(owner_api, team, "bob@example.com"),
    }
    assert {r.status_code for r in answers.values()} == {202}
    addresses = ["carol@example.com", "nobody@example.com", "bob@example.com"]
    pairs = zip(answers.values(), addresses, strict=True)
    bodies = [answer_without_address(r, e) for r, e in pairs]
    assert bodies[0] == bodies[1] == bodies[2]
    carol = answers["has an account"].json()
    assert carol["status"] == "invited" and carol["role"] == "viewer"
    assert "carol@example.com" in carol["detail"] and "next sign-in" in carol["detail"]
    # Nobody joined yet: the members are as they were, and each address got one mail.
    members = owner_api.get(f"/api/v1/teams/{team.pk}/members/").json()
    assert sorted(m["username"] for m in members) == ["ada", "bob"]
    assert sorted(m.to[0] for m in mailoutbox) == [
        "bob@example.com",
        "carol@example.com",
        "nobody@example.com",
    ]
    assert "Lab" in mailoutbox[0].subject and "ada invited you" in mailoutbox[0].subject
    listed = owner_api.get(f"/api/v1/teams/{team.pk}/invitations/").json()
    assert sorted(i["email"] for i in listed) == [
        "bob@example.com",
        "carol@example.com",
        "nobody@example.com",
    ]


def test_the_invited_account_joins_at_its_next_portal_sign_in(
    owner_api, owner, django_user_model, client
):
    team = make_team(owner)
    carol = make_user(django_user_model, "carol")
    invite(owner_api, team, "Carol@Example.com", role="member")
    assert not Membership.objects.filter(team=team, user=carol).exists()

    page = client.post(
        "/accounts/login/", {"username": "carol", "password": PASSWORD}, follow=True
    ).content.decode()
    assert Membership.objects.get(team=team, user=carol).role == "member"
    assert "You joined the team “Lab” as member." in page
    assert not TeamInvitation.objects.exists()


def test_a_new_address_joins_once_it_signs_up_and_activates(owner_api, owner, client, mailoutbox):
    team = make_team(owner)
    invite(owner_api, team, "grace@example.com")
    client.post(
        "/accounts/signup/",
        {
            "username": "grace",
            "email": "grace@example.com",
            "password1": "violet kettle 19 drums",
            "password2": "violet kettle 19 drums",
        },
    )
    grace = User.objects.get(username="grace")
    assert not Membership.objects.filter(user=grace).exists()  # not before the address is proved
    link = re.search(r"/accounts/signup/\S+/\S+/", mailoutbox[-1].body).group(0)
    client.get(link)
    assert Membership.objects.get(team=team, user=grace).role == "viewer"


def test_the_api_token_sign_in_claims_invitations_too(
    owner_api, owner, django_user_model, api_client
):
    team = make_team(owner)
    carol = make_user(django_user_model, "carol")
    invite(owner_api, team, "carol@example.com")
    response = api_client.post(
        "/api/v1/auth/token/", {"username": "carol", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 201
    assert Membership.objects.filter(team=team, user=carol, role="viewer").exists()


def test_an_invitation_lapses_and_can_be_withdrawn(
    owner_api, owner, other_user, django_user_model, client, settings
):
    settings.INVITATION_DAYS = 14
    team = make_team(owner, viewer=other_user)
    carol = make_user(django_user_model, "carol")
    make_user(django_user_model, "dan")
    invite(owner_api, team, "carol@example.com")
    TeamInvitation.objects.update(created_at=timezone.now() - timedelta(days=15))
    dan = invite(owner_api, team, "dan@example.com").json()
    assert [i["email"] for i in owner_api.get(f"/api/v1/teams/{team.pk}/invitations/").json()] == [
        "dan@example.com"
    ]
    client.force_login(other_user)  # a viewer may look, not withdraw
    url = f"/api/v1/teams/{team.pk}/invitations/{dan['id']}/"
    assert client.delete(url).status_code == 403
    assert owner_api.delete(url).status_code == 204
    assert owner_api.delete(url).status_code == 404

    for name in ("carol", "dan"):
        client.logout()
        client.post("/accounts/login/", {"username": name, "password": PASSWORD})
    assert not Membership.objects.filter(user__username__in=["carol", "dan"]).exists()
    assert not TeamInvitation.objects.filter(email="carol@example.com").exists()
    assert carol.memberships.count() == 0


def test_a_bad_address_names_the_field_and_a_non_address_is_a_username(owner_api, owner):
    team = make_team(owner)
    by_email = invite(owner_api, team, "not an address")
    assert by_email.status_code == 400
    assert by_email.json()["email"] == ["Not an email address (name@domain, without spaces)."]
    by_username = owner_api.post(
        f"/api/v1/teams/{team.pk}/members/", {"username": "x@"}, format="json"
    )
    assert by_username.status_code == 404  # no such user: the field names what was not found
    assert by_username.json()["username"] == [
        "No user with username 'x@'. To invite someone, give their email."
    ]


def test_a_job_shared_by_email_appears_at_the_invitees_sign_in(
    owner_api, owner, django_user_model, client, mailoutbox
):
    job = make_job(owner, name="Poems")
    carol = make_user(django_user_model, "carol")
    url = f"/api/v1/jobs/{job.pk}/shares/"
    for address in ("carol@example.com", "nobody@example.com", "ada@example.com"):
        response = owner_api.post(url, {"username": address}, format="json")
        assert response.status_code == 202 and response.json()["status"] == "invited"
    assert [m.to[0] for m in mailoutbox] == [
        "carol@example.com",
        "nobody@example.com",
        "ada@example.com",
    ]
    assert "Poems" in mailoutbox[0].subject
    assert len(owner_api.get(f"/api/v1/jobs/{job.pk}/invitations/").json()) == 3
    assert not JobShare.objects.exists()

    page = client.post(
        "/accounts/login/", {"username": "carol", "password": PASSWORD}, follow=True
    ).content.decode()
    assert JobShare.objects.filter(job=job, user=carol).exists()
    assert "Shared with you, read-only: “Poems”." in page
    assert client.get(f"/jobs/{job.pk}/").status_code == 200
    # The owner's own address changes nothing when they sign in.
    client.logout()
    client.post("/accounts/login/", {"username": "ada", "password": PASSWORD})
    assert not JobShare.objects.filter(user=owner).exists()
    assert list(ShareInvitation.objects.values_list("email", flat=True)) == ["nobody@example.com"]


def test_the_portal_invites_by_email_and_lists_the_invitation(owner, client, mailoutbox):
    team = make_team(owner)
    client.force_login(owner)
    page = client.post(
        f"/accounts/teams/{team.pk}/members/",
        {"username": "grace@example.com", "role": "member"},
        follow=True,
    ).content.decode()
    assert "Invitation mailed to grace@example.com" in page
    assert 'data-email="grace@example.com"' in page
    invitation = TeamInvitation.objects.get()
    page = client.post(
        f"/accounts/teams/{team.pk}/invitations/{invitation.pk}/revoke/", follow=True
    ).content.decode()
    assert "Invitation withdrawn." in page and not TeamInvitation.objects.exists()


@pytest.fixture
def keep_test_connection():
    """A server's requests close the database connection at their start and end; here it is
    the test's own, inside its transaction, and must stay open."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_the_mail_goes_out_after_the_response_is_written(
    owner, owner_api, mailoutbox, keep_test_connection
):
    """Through the WSGI application as a server calls it: the response comes back with no mail
    sent; the mail goes when the server closes the response, after writing it."""
    team = make_team(owner)
    token = owner_api._credentials["HTTP_AUTHORIZATION"]
    request = RequestFactory().post(
        f"/api/v1/teams/{team.pk}/members/",
        {"email": "carol@example.com"},
        content_type="application/json",
        HTTP_AUTHORIZATION=token,
    )
    statuses = []
    body = application(request.environ, lambda status, headers, *args: statuses.append(status))
    assert statuses == ["202 Accepted"] and b"carol@example.com" in b"".join(body)
    assert mailoutbox == []
    body.close()
    assert [m.to for m in mailoutbox] == [["carol@example.com"]]
