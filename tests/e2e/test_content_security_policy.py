"""Every main page works under the strict Content-Security-Policy: no CSP violation is reported
in the browser, and the scripted parts (charts, wizard, playground, API docs) still run."""

import pytest
from playwright.sync_api import expect

from tests.jobs.factories import add_history, give_tiny_model, make_dataset, make_job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long test password 93"


@pytest.fixture
def signed_in(new_context, live_server, django_user_model):
    user = django_user_model.objects.create_user("cora", "cora@example.com", PASSWORD)
    dataset = make_dataset(user)
    job = make_job(user, dataset)
    add_history(job)
    give_tiny_model(job)
    page = new_context().new_page()
    violations = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("cora")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your fine-tuning jobs")).to_be_visible()
    return page, live_server.url, job, dataset, violations


def test_main_pages_raise_no_csp_violation_and_their_scripts_run(signed_in, shots):
    page, base, job, dataset, violations = signed_in
    pages = [
        ("/", None),
        ("/datasets/", "#drop-zone"),
        (f"/datasets/{dataset.pk}/", None),
        ("/jobs/new/", "#id_dataset"),
        (f"/jobs/{job.pk}/", "svg"),
        (f"/jobs/{job.pk}/playground/", "textarea"),
        (f"/jobs/compare/?jobs={job.pk}", None),
        ("/accounts/profile/", "#storage"),
        ("/api/v1/docs/", ".swagger-ui .info"),
    ]
    for path, selector in pages:
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        if selector:
            expect(page.locator(selector).first).to_be_visible(timeout=15_000)
        if path in ("/accounts/profile/", "/api/v1/docs/"):
            shots(page).take("csp-" + path.strip("/").replace("/", "-"))
    # The wizard's script runs: auto-configuration fills the fields from the estimate API.
    page.goto(f"{base}/jobs/new/?dataset={dataset.pk}")
    page.locator("input[name=base_model][value=builtin-tiny]").check()
    page.get_by_role("button", name="Auto-configure").click()
    expect(page.locator("#id_learning_rate")).not_to_have_value("", timeout=30_000)
    assert violations == []
