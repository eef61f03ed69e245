"""A team's webhooks: its admins register, list and manage them (a member or viewer is told why
not, and does not see them; anyone outside names an unknown team), and they receive the team's
job and dataset events, signed, beside the owner's personal endpoints and no one else's."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from standardwebhooks import Webhook as Verifier

from accounts.teams.services import team_delete, team_member_remove, team_member_set_role
from jobs.datasets.services import dataset_create
from jobs.models import Webhook, WebhookDelivery
from jobs.notifications import services
from jobs.training.services import job_cancel
from tests.jobs.notifications.receivers import WebhookReceiver
from tests.jobs.training.runs import launch, make_dataset
from tests.teams_fixtures import make_team, make_user, token_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def lab(owner, django_user_model, settings):
    """Team "Lab": tad its admin, ada (the owner fixture) a member, vic a viewer."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    tad = make_user(django_user_model, "tad")
    vic = make_user(django_user_model, "vic")
    return make_team(tad, name="Lab", member=owner, viewer=vic), tad, vic


def register(client, url, events, team=None):
    body = {"url": url, "events": events, "team": team}
    return client.post("/api/v1/webhooks/", body, format="json")


def test_a_team_admin_registers_a_team_webhook_that_only_the_team_s_admins_see(
    lab, owner_api, other_api, django_user_model
):
    team, tad, vic = lab
    admin_api = token_client(tad)
    answer = register(admin_api, "http://127.0.0.1:9/lab", ["job.failed"], team=team.pk)
    assert answer.status_code == 201, answer.json()
    hook = answer.json()
    assert hook["team"] == team.pk and hook["secret"].startswith("whsec_")

    # A second admin manages it too; the member and the viewer do not see it at all.
    second = make_user(django_user_model, "ida")
    team.memberships.create(user=second, role="admin")
    second_api = token_client(second)
    assert [h["id"] for h in second_api.get("/api/v1/webhooks/").json()["results"]] == [hook["id"]]
    for client in (owner_api, token_client(vic), other_api):
        assert client.get("/api/v1/webhooks/").json()["results"] == []
        assert client.get(f"/api/v1/webhooks/{hook['id']}/").status_code == 404
        assert client.get(f"/api/v1/webhooks/{hook['id']}/deliveries/").status_code == 404
        assert client.delete(f"/api/v1/webhooks/{hook['id']}/").status_code == 404
    assert second_api.delete(f"/api/v1/webhooks/{hook['id']}/").status_code == 204
    assert not Webhook.objects.exists()


def test_a_member_or_viewer_is_told_only_admins_register_and_an_outsider_names_no_team(
    lab, owner_api, other_api
):
    team, _, vic = lab
    for client, role in ((owner_api, "member"), (token_client(vic), "viewer")):
        answer = register(client, "http://127.0.0.1:9/x", ["job.failed"], team=team.pk)
        assert answer.status_code == 403
        assert answer.json()["detail"] == (
            f"Only an admin of team “Lab” registers webhooks for it; you are {role} there."
        )
    outside = register(other_api, "http://127.0.0.1:9/x", ["job.failed"], team=team.pk)
    assert outside.status_code == 404
    assert outside.json()["team"] == [f"No team with id {team.pk} among your teams."]
    assert register(other_api, "http://127.0.0.1:9/x", ["job.failed"], team="x").status_code == 400
    assert not Webhook.objects.exists()
    # A personal endpoint is what it always was: team null.
    mine = register(owner_api, "http://127.0.0.1:9/mine", ["job.failed"])
    assert mine.status_code == 201 and mine.json()["team"] is None


def test_a_team_job_s_event_reaches_the_team_webhook_signed_and_no_outsider_s(
    lab,
    owner,
    owner_api,
    other_user,
    other_api,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    team, tad, _ = lab
    admin_api = token_client(tad)
    events = ["job.cancelled", "dataset.validated"]
    with (
        WebhookReceiver() as team_end,
        WebhookReceiver() as owner_end,
        WebhookReceiver() as admin_end,
        WebhookReceiver() as outsider_end,
    ):
        team_hook = register(admin_api, team_end.url, events, team=team.pk).json()
        owner_hook = register(owner_api, owner_end.url, events).json()
        register(admin_api, admin_end.url, events)  # tad's own: the team's work is not his
        register(other_api, outsider_end.url, events)
        with django_capture_on_commit_callbacks(execute=True):
            dataset = make_dataset(owner)  # ada's personal dataset: not the team's business
        job = launch(owner, dataset, name="Team run", team_id=team.pk)  # stays queued
        with django_capture_on_commit_callbacks(execute=True):
            job_cancel(job=job)

    received = [
        Verifier(team_hook["secret"]).verify(r["body"], r["headers"]) for r in team_end.requests
    ]
    assert [(b["type"], b["data"]["id"], b["data"]["team"]) for b in received] == [
        ("job.cancelled", job.pk, team.pk)
    ]
    assert team_end.requests[0]["headers"]["webhook-signature"].startswith("v1,")
    owner_got = [
        Verifier(owner_hook["secret"]).verify(r["body"], r["headers"])["type"]
        for r in owner_end.requests
    ]
    assert owner_got == ["dataset.validated", "job.cancelled"]
    assert admin_end.requests == [] and outsider_end.requests == []

    # The team's admin reads the delivery log and redelivers; the job's owner may not.
    delivery = WebhookDelivery.objects.get(webhook_id=team_hook["id"])
    log = admin_api.get(f"/api/v1/webhooks/{team_hook['id']}/deliveries/").json()["results"]
    assert [(d["event_type"], d["status"]) for d in log] == [("job.cancelled", "succeeded")]
    redeliver = f"/api/v1/webhooks/deliveries/{delivery.pk}/redeliver/"
    assert owner_api.post(redeliver).status_code == 404
    assert admin_api.post(redeliver).status_code == 202


def test_a_team_dataset_s_validation_reaches_the_team_webhook(
    lab, owner, settings, django_capture_on_commit_callbacks
):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    team, tad, _ = lab
    with WebhookReceiver() as receiver:
        hook = register(token_client(tad), receiver.url, ["dataset.validated"], team.pk).json()
        with django_capture_on_commit_callbacks(execute=True):
            upload = SimpleUploadedFile("notes.txt", b"a line of text\n" * 20)
            dataset = dataset_create(owner=owner, upload=upload, name="notes", team_id=team.pk)
    bodies = [Verifier(hook["secret"]).verify(r["body"], r["headers"]) for r in receiver.requests]
    assert [(b["type"], b["data"]["id"]) for b in bodies] == [("dataset.validated", dataset.pk)]


def test_the_profile_lets_a_team_admin_choose_the_space_and_lists_it(lab, client, owner, password):
    team, tad, _ = lab
    client.login(username="tad", password=password)
    html = client.get("/accounts/profile/").content.decode()
    assert f'<option value="{team.pk}">Team Lab</option>' in html
    body = {"url": "http://127.0.0.1:9/lab", "events": ["job.failed"], "team": str(team.pk)}
    html = client.post("/webhooks/", body, follow=True).content.decode()
    hook = Webhook.objects.get()
    assert hook.team == team and hook.owner == tad
    assert hook.secret in html and '<td data-label="Space">Team Lab</td>' in html
    assert "Team Lab's endpoint" in client.get(f"/webhooks/{hook.pk}/").content.decode()

    # ada, a member, has no space to choose and does not see the team's endpoint.
    client.login(username="ada", password=password)
    html = client.get("/accounts/profile/").content.decode()
    assert 'name="team"' not in html and "http://127.0.0.1:9/lab" not in html
    assert client.get(f"/webhooks/{hook.pk}/").status_code == 404
    refused = client.post("/webhooks/", {**body, "url": "http://127.0.0.1:9/b"}, follow=True)
    assert "Select a valid choice" in refused.content.decode()
    assert Webhook.objects.count() == 1


def test_a_demoted_admin_stops_seeing_team_webhooks_and_a_deleted_team_takes_them(
    lab, owner, owner_api
):
    team, tad, _ = lab
    team.memberships.filter(user=owner).update(role="admin")
    hook = register(owner_api, "http://127.0.0.1:9/lab", ["job.failed"], team=team.pk).json()
    tad_api = token_client(tad)
    assert tad_api.get(f"/api/v1/webhooks/{hook['id']}/").status_code == 200  # every admin

    team_member_set_role(membership=team.memberships.get(user=owner), role="member")
    assert owner_api.get("/api/v1/webhooks/").json()["results"] == []
    assert tad_api.get(f"/api/v1/webhooks/{hook['id']}/").json()["team"] == team.pk

    team_delete(team=team)
    assert not Webhook.objects.exists()  # a team's endpoint never becomes someone's own


@pytest.mark.parametrize("how", ["removed", "demoted", "left"])
def test_a_team_webhook_goes_quiet_once_its_registrar_is_no_longer_an_admin(
    how, lab, owner, owner_api, settings, django_capture_on_commit_callbacks
):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    team, tad, _ = lab
    team.memberships.filter(user=owner).update(role="admin")
    with WebhookReceiver() as receiver:
        hook = register(owner_api, receiver.url, ["dataset.validated"], team=team.pk).json()
        pending = WebhookDelivery.objects.create(
            webhook_id=hook["id"], event_id="msg_old", event_type="dataset.validated", payload={}
        )
        membership = team.memberships.get(user=owner)
        if how == "demoted":
            team_member_set_role(membership=membership, role="member")
        else:  # removed by the other admin, or left: the same service
            team_member_remove(membership=membership)
        with django_capture_on_commit_callbacks(execute=True):
            upload = SimpleUploadedFile("notes.txt", b"a line of text\n" * 20)
            dataset_create(owner=tad, upload=upload, name="notes", team_id=team.pk)
        assert services.webhook_deliver(delivery_id=pending.pk) == "failed"
    assert receiver.requests == []  # neither the new event nor the one queued before
    assert (
        not WebhookDelivery.objects.filter(event_type="dataset.validated")
        .exclude(event_id="msg_old")
        .exists()
    )
    seen = token_client(tad).get(f"/api/v1/webhooks/{hook['id']}/").json()
    assert seen["active"] is False
    assert seen["disabled_reason"].startswith("Disabled: ada, who registered it, is no longer")
    pending.refresh_from_db()
    assert pending.error == seen["disabled_reason"]


def test_the_remaining_admins_see_a_quiet_endpoint_as_disabled_with_the_reason(
    lab, owner, owner_api, client
):
    team, tad, _ = lab
    team.memberships.filter(user=owner).update(role="admin")
    hook = register(owner_api, "http://127.0.0.1:9/lab", ["job.failed"], team=team.pk).json()
    team_member_set_role(membership=team.memberships.get(user=owner), role="viewer")
    client.force_login(tad)
    profile = client.get("/accounts/profile/").content.decode()
    assert "disabled" in profile and "is no longer an admin of the team" in profile
    page = client.get(f"/webhooks/{hook['id']}/").content.decode()
    assert "Delete it and register a new one" in page
