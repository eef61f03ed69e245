"""The portal's side of notifications: the menu on every page, email choices and webhooks on
the profile page, an endpoint's delivery log; another user's webhook is a 404."""

import pytest

from jobs.models import Webhook, WebhookDelivery
from jobs.training.services import job_cancel
from tests.jobs.training.runs import launch, make_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, owner, password):
    client.login(username="ada", password=password)
    return client


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_the_menu_lists_ended_jobs_as_new_until_the_list_is_opened(owner, signed_in):
    job = launch(owner, make_dataset(owner), name="Sonnets")
    assert "No ended jobs yet." in page(signed_in, "/")
    job_cancel(job=job)

    html = page(signed_in, "/")
    assert 'aria-label="1 new"' in html and "Sonnets was cancelled" in html
    assert "Sonnets was cancelled" in page(signed_in, "/notifications/")
    assert 'aria-label="1 new"' not in page(signed_in, "/")


def test_the_profile_starts_with_emails_for_succeeded_and_failed_jobs(signed_in):
    html = page(signed_in, "/accounts/profile/")
    assert 'name="job_succeeded" id="id_job_succeeded" checked' in html
    assert 'name="job_failed" id="id_job_failed" checked' in html
    assert 'name="job_cancelled" id="id_job_cancelled">' in html


def test_a_webhook_added_on_the_profile_shows_its_secret_once(signed_in, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    body = {"url": "http://127.0.0.1:9/hook", "events": ["job.failed", "dataset.validated"]}
    html = signed_in.post("/webhooks/", body, follow=True).content.decode()
    webhook = Webhook.objects.get()
    assert webhook.events == ["job.failed", "dataset.validated"]
    assert webhook.secret in html and "it will not be shown again" in html
    assert webhook.secret not in page(signed_in, "/accounts/profile/")
    assert "No deliveries yet" in page(signed_in, f"/webhooks/{webhook.pk}/")


def test_a_private_address_is_refused_on_the_profile_with_the_reason(signed_in):
    body = {"url": "http://169.254.169.254/latest/", "events": ["job.failed"]}
    html = signed_in.post("/webhooks/", body, follow=True).content.decode()
    assert "resolves to 169.254.169.254, a private, loopback or link-local address" in html
    assert 'value="http://169.254.169.254/latest/"' in html  # kept to correct
    assert not Webhook.objects.exists()


def test_the_delivery_log_shows_the_answer_and_offers_a_redelivery(
    owner, signed_in, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    url = "http://127.0.0.1:9/x"  # nothing listens there
    webhook = Webhook.objects.create(owner=owner, url=url, events=["dataset.validated"])
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    with django_capture_on_commit_callbacks(execute=True):
        make_dataset(owner)
    delivery = WebhookDelivery.objects.get(webhook=webhook)
    html = page(signed_in, f"/webhooks/{webhook.pk}/")
    assert "dataset.validated" in html and "ConnectionRefusedError" in html
    assert f'action="/webhooks/deliveries/{delivery.pk}/redeliver/"' in html


def test_another_user_s_webhook_pages_are_404(owner, other_user, client, password):
    webhook = Webhook.objects.create(
        owner=owner, url="https://example.com/x", events=["job.failed"]
    )
    delivery = WebhookDelivery.objects.create(
        webhook=webhook, event_id="msg_1", event_type="job.failed", payload={}
    )
    client.login(username="bob", password=password)
    assert client.get(f"/webhooks/{webhook.pk}/").status_code == 404
    assert client.post(f"/webhooks/{webhook.pk}/delete/").status_code == 404
    assert client.post(f"/webhooks/deliveries/{delivery.pk}/redeliver/").status_code == 404
    assert Webhook.objects.filter(pk=webhook.pk).exists()


def test_operators_see_webhooks_and_deliveries_in_the_admin_but_never_the_secret(
    client, owner, operator
):
    webhook = Webhook.objects.create(
        owner=owner, url="https://example.com/x", events=["job.failed"]
    )
    WebhookDelivery.objects.create(
        webhook=webhook, event_id="msg_1", event_type="job.failed", payload={}
    )
    client.force_login(operator)
    for url in ("/admin/jobs/webhook/", "/admin/jobs/webhookdelivery/"):
        assert client.get(url, {"q": "example"}).status_code == 200
    html = page(client, f"/admin/jobs/webhook/{webhook.pk}/change/")
    assert "https://example.com/x" in html and "job.failed" in html
    assert webhook.secret not in html
