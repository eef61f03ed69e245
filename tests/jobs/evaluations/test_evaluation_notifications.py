"""An evaluation that ends is an entry in its owner's notifications menu and a signed webhook
event (evaluation.succeeded, evaluation.failed) carrying the evaluation as the API shows it."""

import pytest
from standardwebhooks import Webhook as Verifier

from jobs.evaluations.services import evaluation_create
from jobs.models import Evaluation, Notification
from tests.jobs.evaluations.conftest import qa_rows, upload
from tests.jobs.notifications.receivers import WebhookReceiver

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sync_queue")]


def test_an_ended_evaluation_reaches_the_menu_and_the_webhook(
    owner, owner_api, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    dataset = upload(owner, qa_rows(10))
    with WebhookReceiver() as receiver:
        hook = owner_api.post(
            "/api/v1/webhooks/",
            {"url": receiver.url, "events": ["evaluation.succeeded", "evaluation.failed"]},
            format="json",
        ).json()
        with django_capture_on_commit_callbacks(execute=True):
            evaluation = evaluation_create(
                owner=owner,
                model="builtin-tiny",
                dataset=dataset,
                generation={"max_new_tokens": 4},
            )
    [body] = [Verifier(hook["secret"]).verify(r["body"], r["headers"]) for r in receiver.requests]
    assert body["type"] == "evaluation.succeeded"
    shown = owner_api.get(f"/api/v1/evaluations/{evaluation.pk}/").json()
    assert body["data"]["id"] == evaluation.pk and body["data"]["metrics"] == shown["metrics"]

    entry = Notification.objects.get(evaluation=evaluation)
    assert entry.user == owner and entry.job_status == "succeeded"
    assert entry.message == f"Evaluation of builtin-tiny on {dataset.name} succeeded"
    assert entry.get_absolute_url() == f"/evaluations/{evaluation.pk}/"
    assert Evaluation.objects.get(pk=evaluation.pk).status == "succeeded"
