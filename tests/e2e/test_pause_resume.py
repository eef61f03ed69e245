"""On the job page a person pauses a queued job and resumes it with the two buttons."""

import pytest
from playwright.sync_api import expect

from jobs.models import Job
from tests.jobs.factories import make_job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long test password 93"


def test_pause_then_resume_from_the_job_page(new_context, live_server, django_user_model, shots):
    user = django_user_model.objects.create_user("kit", "kit@example.com", PASSWORD)
    job = make_job(user, name="Pausable job", status=Job.Status.QUEUED)
    page = new_context().new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("kit")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/jobs/{job.pk}/")

    page.get_by_role("button", name="Pause").click()
    expect(page.locator("#job-status")).to_have_text("Paused")
    expect(page.get_by_role("button", name="Pause")).to_have_count(0)
    shots(page).take("job-paused")
    page.get_by_role("button", name="Resume").click()
    expect(page.locator("#job-status")).to_have_text("Queued")
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED
