"""A person creates a team, adds a colleague as a viewer and moves a running job into the team;
the viewer finds the job on their dashboard, sees no way to cancel it, and a cancel they send
anyway is refused. At phone and desktop width."""

import pytest
from playwright.sync_api import expect

from jobs.models import Job
from tests.jobs.factories import make_job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long test password 93"


def _sign_in(page, base, username):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.parametrize("width", [390, 1280])
def test_a_viewer_sees_the_team_job_and_cannot_cancel_it(
    new_context, live_server, django_user_model, shots, width
):
    django_user_model.objects.create_user("kit", "kit@example.com", PASSWORD)
    django_user_model.objects.create_user("vic", "vic@example.com", PASSWORD)
    owner = django_user_model.objects.get(username="kit")
    job = make_job(owner, name="Team training run", status=Job.Status.RUNNING)
    base, viewport = live_server.url, {"width": width, "height": 900}
    label = "phone" if width < 600 else "desktop"

    page = new_context(viewport=viewport).new_page()
    _sign_in(page, base, "kit")
    page.get_by_role("link", name="Teams").click()
    page.get_by_label("Team name").fill("Lab")
    page.get_by_role("button", name="Create team").click()
    expect(page.locator("#my-role")).to_have_text("admin")
    page.get_by_label("Username or email").fill("vic@example.com")
    page.get_by_label("Role", exact=True).select_option("viewer")
    page.get_by_role("button", name="Add member").click()
    # An address is invited: vic joins when he signs in (below), not before.
    expect(page.locator("#invitations li[data-email='vic@example.com']")).to_contain_text("Viewer")
    expect(page.locator("#members tr[data-username=vic]")).to_have_count(0)
    page.screenshot(path=str(_path(f"team-members-{label}")), full_page=True)

    page.goto(f"{base}/jobs/{job.pk}/")
    page.locator("#id_move_team").select_option(label="Team Lab")
    page.get_by_role("button", name="Move").click()
    expect(page.locator("#job-space")).to_contain_text("Team Lab")
    page.screenshot(path=str(_path(f"team-owner-job-{label}")), full_page=True)

    viewer = new_context(viewport=viewport).new_page()
    _sign_in(viewer, base, "vic")
    expect(viewer.get_by_text("You joined the team “Lab” as viewer.")).to_be_visible()
    expect(viewer.get_by_role("link", name="Team training run")).to_be_visible()
    viewer.get_by_role("link", name="Team training run").click()
    expect(viewer.locator("#job-space")).to_contain_text("read-only for you")
    expect(viewer.locator("#job-status")).to_have_text("Running")
    expect(viewer.get_by_role("button", name="Cancel job")).to_have_count(0)
    expect(viewer.get_by_role("button", name="Pause")).to_have_count(0)
    viewer.screenshot(path=str(_path(f"team-viewer-job-{label}")), full_page=True)

    token = viewer.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value")
    refused = viewer.request.post(
        f"{base}/jobs/{job.pk}/cancel/",
        form={"csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/jobs/{job.pk}/"},
    )
    assert refused.status == 403
    assert "not change it" in refused.text()
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING and not job.cancel_requested


def _path(name):
    from tests.e2e.conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
