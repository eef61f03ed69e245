"""Cancel and delete ask first, at a phone's width (390 px) and a desktop's (1280 px): the cancel
dialog fits the screen and "No, go back" leaves the job alone; deleting a dataset that jobs used
warns about them; deleting a job goes through its confirmation page."""

import pytest
from playwright.sync_api import expect

from jobs.models import Dataset, Job
from tests.e2e.conftest import SCREENSHOTS
from tests.jobs.factories import make_dataset, make_job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long test password 93"


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("cleo", "cleo@example.com", PASSWORD)


def signed_in(new_context, live_server, width):
    page = new_context(viewport={"width": width, "height": 844}).new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("cleo")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    return page


@pytest.mark.parametrize("width", [390, 1280])
def test_cancelling_a_job_asks_first(new_context, live_server, user, width):
    job = make_job(user, name="A job with a rather long name that must wrap on a phone")
    page = signed_in(new_context, live_server, width)
    page.goto(f"{live_server.url}/jobs/{job.pk}/")

    page.get_by_role("button", name="Cancel job").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("It stops after its current step")
    box = dialog.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    page.screenshot(path=str(SCREENSHOTS / f"confirm-cancel-{width}.png"))
    page.get_by_role("button", name="No, go back").click()
    expect(dialog).to_have_count(0)
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED and not job.cancel_requested

    page.get_by_role("button", name="Cancel job").click()
    page.get_by_role("button", name="Yes, cancel the job").click()
    expect(page.locator(".messages")).to_contain_text("Cancelling")
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED


@pytest.mark.parametrize("width", [390, 1280])
def test_deleting_a_dataset_that_jobs_used_warns_first(new_context, live_server, user, width):
    dataset = make_dataset(user, name="Sonnets " + "and more " * 12)
    make_job(user, dataset, name="Finished run", status=Job.Status.SUCCEEDED)
    page = signed_in(new_context, live_server, width)
    page.goto(f"{live_server.url}/datasets/{dataset.pk}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # the name wraps

    page.get_by_text("Delete…").click()
    warning = page.locator("#dataset-used-warning")
    expect(warning).to_contain_text("1 job trained on it (Finished run)")
    page.screenshot(path=str(SCREENSHOTS / f"confirm-dataset-delete-{width}.png"), full_page=True)
    page.get_by_role("button", name="Yes, delete it").click()
    expect(page.locator(".messages")).to_contain_text("Deleted the dataset")
    assert Dataset.objects.get(pk=dataset.pk).deleted_at is not None


@pytest.mark.parametrize("width", [390, 1280])
def test_deleting_a_job_asks_on_its_own_page(new_context, live_server, user, width):
    job = make_job(user, name="Old run", status=Job.Status.FAILED)
    page = signed_in(new_context, live_server, width)
    page.goto(f"{live_server.url}/jobs/{job.pk}/")
    page.get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", name="Delete “Old run”?")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / f"confirm-job-delete-{width}.png"))
    page.get_by_role("link", name="Keep it").click()
    assert Job.objects.filter(pk=job.pk).exists()
    page.get_by_role("link", name="Delete").click()
    page.get_by_role("button", name="Delete the job").click()
    expect(page.locator(".messages")).to_contain_text("Deleted job")
    assert not Job.objects.filter(pk=job.pk).exists()
