"""Notifications in the browser at a phone's and a desktop's width: the menu lists a job that
ended; a webhook registered on the profile page receives a signed delivery from the real
qcluster worker, and its delivery log says so."""

import time

import pytest
from playwright.sync_api import expect
from standardwebhooks import Webhook as Verifier

from jobs.training.services import job_cancel
from tests.e2e.conftest import SCREENSHOTS, WIDTHS
from tests.jobs.notifications.receivers import WebhookReceiver
from tests.jobs.training.runs import launch, make_dataset

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long test password 93"


@pytest.fixture
def receiver():
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def private_targets(settings, monkeypatch):
    """The receiver listens on 127.0.0.1: allowed in this web process and in the worker's
    environment (set before the worker fixture reads it)."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE", "1")


def snap(page, name, width):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)


@pytest.mark.parametrize("width", WIDTHS.values())
def test_a_webhook_registered_on_the_profile_gets_a_delivery_and_the_menu_lists_ended_jobs(
    width, new_context, live_server, django_user_model, receiver, private_targets, request
):
    user = django_user_model.objects.create_user("ivy", "ivy@example.com", PASSWORD)
    job_cancel(job=launch(user, make_dataset(user), name="Early draft"))
    request.getfixturevalue("worker")
    page = new_context(viewport={"width": width, "height": 900}).new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("ivy")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # The notifications menu: one new entry, the cancelled job.
    page.locator(".notif-menu summary").click()
    expect(page.locator(".notif-panel")).to_contain_text("Early draft was cancelled")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    snap(page, "notifications-menu", width)

    page.goto(f"{live_server.url}/accounts/profile/#webhooks")
    page.get_by_label("Endpoint URL").fill(receiver.url)
    page.get_by_label("dataset.validated").check()
    page.get_by_role("button", name="Add webhook").click()
    secret = page.locator("#new-webhook-secret").inner_text().strip()
    assert secret.startswith("whsec_")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    snap(page, "profile-webhooks", width)

    # An event: a dataset validated in the portal; the worker delivers it.
    page.goto(f"{live_server.url}/datasets/")
    page.get_by_role("button", name="Try the sample dataset").click()
    expect(page.get_by_text("Valid").first).to_be_visible(timeout=60_000)

    page.goto(f"{live_server.url}/accounts/profile/#webhooks")
    page.get_by_role("link", name="Deliveries").click()
    deadline = time.monotonic() + 90
    while "Delivered" not in page.locator("#deliveries").inner_text():
        assert time.monotonic() < deadline, "no delivery within 90 s"
        time.sleep(1)
        page.reload()
    log = page.locator("#deliveries")
    expect(log).to_contain_text("dataset.validated")
    expect(log).to_contain_text("200")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    snap(page, "webhook-deliveries", width)

    [delivered] = receiver.requests
    body = Verifier(secret).verify(delivered["body"], delivered["headers"])
    assert body["type"] == "dataset.validated" and body["data"]["status"] == "valid"
