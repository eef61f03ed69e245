"""Webhooks: registered through the API, delivered by the queue (django-q2 in sync mode) to a
real HTTP receiver, signed so that the `standardwebhooks` package verifies them, retried with
backoff, refused for private addresses, bounded in what they read and how long they wait."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook as Verifier

from jobs.models import Job, WebhookDelivery
from jobs.notifications import services
from jobs.training.services import job_cancel
from tests.jobs.notifications.receivers import WebhookReceiver, self_signed_certificate
from tests.jobs.training.runs import launch, make_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def private_allowed(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture
def sync_queue(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}


def register(client, url, events):
    response = client.post("/api/v1/webhooks/", {"url": url, "events": events}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def verified(receiver, secret):
    """Each request the receiver got, checked and parsed by the standardwebhooks package."""
    return [Verifier(secret).verify(r["body"], r["headers"]) for r in receiver.requests]


def test_a_launched_job_s_events_arrive_signed_in_order_with_the_job_as_the_api_shows_it(
    owner, owner_api, private_allowed, sync_queue, django_capture_on_commit_callbacks
):
    dataset = make_dataset(owner)
    with WebhookReceiver() as receiver:
        hook = register(owner_api, receiver.url, ["job.queued", "job.running", "job.succeeded"])
        assert hook["secret"].startswith("whsec_") and hook["events"][0] == "job.queued"
        with django_capture_on_commit_callbacks(execute=True):
            job = launch(owner, dataset)

    bodies = verified(receiver, hook["secret"])
    assert [body["type"] for body in bodies] == ["job.queued", "job.running", "job.succeeded"]
    assert all(set(body) == {"id", "type", "created_at", "data"} for body in bodies)
    final = bodies[-1]["data"]
    api_job = owner_api.get(f"/api/v1/jobs/{job.pk}/").json()
    assert final["id"] == job.pk and final["status"] == "succeeded"
    assert set(final) == set(api_job) and final["train_loss"] == api_job["train_loss"]
    headers = receiver.requests[0]["headers"]
    assert headers["webhook-signature"].startswith("v1,")
    assert headers["webhook-id"] == bodies[0]["id"]

    log = owner_api.get(f"/api/v1/webhooks/{hook['id']}/deliveries/").json()["results"]
    assert [d["event_type"] for d in log] == ["job.succeeded", "job.running", "job.queued"]
    assert all(d["status"] == "succeeded" and d["response_status"] == 200 for d in log)
    assert log[0]["attempts"] == 1 and log[0]["response_excerpt"] == "thanks"


def test_the_secret_is_shown_once_and_lists_never_show_it(owner_api, private_allowed):
    hook = register(owner_api, "http://127.0.0.1:9/x", ["job.failed"])
    listed = owner_api.get("/api/v1/webhooks/").json()["results"]
    detail = owner_api.get(f"/api/v1/webhooks/{hook['id']}/").json()
    assert [item["id"] for item in listed] == [hook["id"]]
    assert "secret" not in listed[0] and "secret" not in detail


def test_a_failed_delivery_is_retried_with_backoff_and_the_same_event_id(
    owner, owner_api, private_allowed, sync_queue, django_capture_on_commit_callbacks
):
    answers = [(500, b"database down", 0), (503, b"still down", 0), (204, b"", 0)]
    with WebhookReceiver(answers) as receiver:
        hook = register(owner_api, receiver.url, ["dataset.validated"])
        with django_capture_on_commit_callbacks(execute=True):
            dataset = make_dataset(owner)
        delivery = WebhookDelivery.objects.get(webhook_id=hook["id"])
        first_try = delivery.last_attempt_at
        assert delivery.state == "pending" and delivery.attempts == 1
        assert delivery.response_status == 500 and delivery.response_excerpt == "database down"
        assert delivery.next_attempt_at - first_try == pytest.approx(
            timedelta(seconds=90), abs=timedelta(seconds=2)
        )

        # Nothing is due before the backoff has passed; then the sweep sends it, twice.
        assert services.webhook_deliver_due(now=first_try + timedelta(seconds=60)) == {}
        later = first_try + timedelta(seconds=91)
        assert services.webhook_deliver_due(now=later) == {delivery.pk: "pending"}
        delivery.refresh_from_db()
        assert delivery.next_attempt_at - later == pytest.approx(
            timedelta(seconds=180), abs=timedelta(seconds=2)
        )
        assert services.webhook_deliver_due(now=later + timedelta(seconds=181)) == {
            delivery.pk: "succeeded"
        }

    delivery.refresh_from_db()
    assert delivery.state == "succeeded" and delivery.attempts == 3
    assert len({r["headers"]["webhook-id"] for r in receiver.requests}) == 1
    assert verified(receiver, hook["secret"])[0]["data"]["id"] == dataset.pk


def test_the_retries_span_about_a_day_and_the_last_failure_leaves_it_failed(
    owner, owner_api, private_allowed, settings, sync_queue, django_capture_on_commit_callbacks
):
    delays = [services.retry_delay(n) for n in range(1, settings.WEBHOOK_MAX_ATTEMPTS)]
    assert timedelta(hours=20) < sum(delays, timedelta()) < timedelta(hours=30)
    assert delays == sorted(delays) and delays[1] == 2 * delays[0]

    settings.WEBHOOK_MAX_ATTEMPTS = 2
    with WebhookReceiver([(500, b"no", 0)]) as receiver:
        hook = register(owner_api, receiver.url, ["dataset.validated"])
        with django_capture_on_commit_callbacks(execute=True):
            make_dataset(owner)
        services.webhook_deliver_due(now=timezone.now() + timedelta(hours=1))
        assert services.webhook_deliver_due(now=timezone.now() + timedelta(days=2)) == {}
    log = owner_api.get(f"/api/v1/webhooks/{hook['id']}/deliveries/").json()["results"]
    assert [(d["status"], d["attempts"], d["next_attempt_at"]) for d in log] == [
        ("failed", 2, None)
    ]
    assert len(receiver.requests) == 2


def test_a_redelivery_sends_the_same_event_again_from_the_queue(
    owner, owner_api, private_allowed, sync_queue, django_capture_on_commit_callbacks
):
    with WebhookReceiver() as receiver:
        hook = register(owner_api, receiver.url, ["job.cancelled"])
        job = launch(owner, make_dataset(owner))  # its task is not run: the job stays queued
        with django_capture_on_commit_callbacks(execute=True):
            job_cancel(job=job)
        delivery = WebhookDelivery.objects.get(webhook_id=hook["id"])
        with django_capture_on_commit_callbacks(execute=True):
            answer = owner_api.post(f"/api/v1/webhooks/deliveries/{delivery.pk}/redeliver/")
        assert answer.status_code == 202

    assert [b["type"] for b in verified(receiver, hook["secret"])] == ["job.cancelled"] * 2
    assert (
        receiver.requests[0]["headers"]["webhook-id"]
        == receiver.requests[1]["headers"]["webhook-id"]
    )
    delivery.refresh_from_db()
    assert delivery.state == "succeeded" and delivery.attempts == 2
    assert Job.objects.get(pk=job.pk).status == "cancelled"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
    ],
)
def test_private_loopback_and_link_local_targets_are_refused(owner_api, url):
    response = owner_api.post(
        "/api/v1/webhooks/", {"url": url, "events": ["job.failed"]}, format="json"
    )
    assert response.status_code == 400
    assert "public addresses" in response.json()["url"][0]


def test_bad_urls_and_events_are_refused_naming_the_field(owner_api, private_allowed):
    def post(body):
        return owner_api.post("/api/v1/webhooks/", body, format="json")

    assert "url" in post({"url": "ftp://example.com/x", "events": ["job.failed"]}).json()
    events = post({"url": "http://127.0.0.1/x", "events": ["job.exploded"]}).json()["events"]
    assert "job.exploded" in json.dumps(events)
    assert "events" in post({"url": "http://127.0.0.1/x", "events": []}).json()


def test_a_target_that_became_private_is_not_called(
    owner, owner_api, private_allowed, settings, sync_queue, django_capture_on_commit_callbacks
):
    with WebhookReceiver() as receiver:
        register(owner_api, receiver.url, ["dataset.validated"])
        settings.WEBHOOK_ALLOW_PRIVATE = False
        with django_capture_on_commit_callbacks(execute=True):
            make_dataset(owner)
    assert receiver.requests == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == "pending" and "public addresses" in delivery.error


def test_a_huge_answer_is_read_only_up_to_the_cap_and_a_slow_one_only_until_the_timeout(
    owner, owner_api, private_allowed, settings, sync_queue, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_TIMEOUT_S = 1
    settings.WEBHOOK_RESPONSE_MAX_BYTES = 4096
    with WebhookReceiver([(200, b"x" * 5_000_000, 0)]) as huge:
        register(owner_api, huge.url, ["dataset.validated"])
        with WebhookReceiver([(200, b"late", 3)]) as slow:
            register(owner_api, slow.url, ["dataset.validated"])
            with django_capture_on_commit_callbacks(execute=True):
                make_dataset(owner)

    by_url = {d.webhook.url: d for d in WebhookDelivery.objects.select_related("webhook")}
    assert by_url[huge.url].state == "succeeded"
    assert len(by_url[huge.url].response_excerpt) == 1000
    assert by_url[slow.url].state == "pending" and by_url[slow.url].response_status is None
    assert by_url[slow.url].error == "No answer within 1 s."


def test_another_user_s_webhooks_and_deliveries_are_404(
    owner, owner_api, other_api, private_allowed, sync_queue, django_capture_on_commit_callbacks
):
    with WebhookReceiver() as receiver:
        hook = register(owner_api, receiver.url, ["dataset.validated"])
        with django_capture_on_commit_callbacks(execute=True):
            make_dataset(owner)
    delivery = WebhookDelivery.objects.get()

    assert other_api.get("/api/v1/webhooks/").json()["results"] == []
    assert other_api.get(f"/api/v1/webhooks/{hook['id']}/").status_code == 404
    assert other_api.get(f"/api/v1/webhooks/{hook['id']}/deliveries/").status_code == 404
    assert (
        other_api.post(f"/api/v1/webhooks/deliveries/{delivery.pk}/redeliver/").status_code == 404
    )
    assert other_api.delete(f"/api/v1/webhooks/{hook['id']}/").status_code == 404
    assert owner_api.delete(f"/api/v1/webhooks/{hook['id']}/").status_code == 204
    assert not WebhookDelivery.objects.exists()


def test_events_of_other_users_are_not_sent_to_my_endpoint(
    owner, other_user, owner_api, private_allowed, sync_queue, django_capture_on_commit_callbacks
):
    with WebhookReceiver() as receiver:
        register(owner_api, receiver.url, ["dataset.validated"])
        with django_capture_on_commit_callbacks(execute=True):
            make_dataset(other_user)
    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()


def test_the_sweep_runs_every_minute_and_copies_that_piled_up_are_dropped_by_the_first(owner):
    from django_q.models import OrmQ, Schedule
    from django_q.tasks import async_task

    from jobs.notifications import tasks

    schedule = Schedule.objects.get(name=tasks.SWEEP_SCHEDULE_NAME)
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
        "jobs.notifications.tasks.webhook_deliver_due_task",
        Schedule.MINUTES,
        1,
    )

    for _ in range(3):
        async_task("jobs.notifications.tasks.webhook_deliver_due_task", sync=False)
    async_task("jobs.training.tasks.job_run_task", 12345, sync=False)

    assert tasks.webhook_deliver_due_task() == {}
    assert [task.func() for task in OrmQ.objects.all()] == ["jobs.training.tasks.job_run_task"]


def test_https_endpoints_get_the_delivery_only_with_a_certificate_the_worker_trusts(
    owner, owner_api, private_allowed, sync_queue, django_capture_on_commit_callbacks,
    tmp_path, monkeypatch,
):  # fmt: skip
    tls = self_signed_certificate(tmp_path)
    if tls is None:
        pytest.skip("the openssl command is needed to make a certificate")
    with WebhookReceiver(tls=tls) as receiver:
        hook = register(owner_api, receiver.url, ["dataset.validated"])
        with django_capture_on_commit_callbacks(execute=True):
            make_dataset(owner)
        delivery = WebhookDelivery.objects.get()
        assert delivery.state == "pending" and "CERTIFICATE_VERIFY_FAILED" in delivery.error

        monkeypatch.setenv(
            "SSL_CERT_FILE", str(tls[0])
        )  # now the receiver's certificate is trusted
        services.webhook_deliver_due(now=timezone.now() + timedelta(minutes=2))

    delivery.refresh_from_db()
    assert delivery.state == "succeeded" and delivery.response_status == 200
    assert verified(receiver, hook["secret"])[0]["type"] == "dataset.validated"
