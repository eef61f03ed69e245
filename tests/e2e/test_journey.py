"""A new user's whole journey in a real browser, with a real worker training a real (tiny) model.

Sign up, upload a sample of the shipped dataset from the wizard, auto-configure, launch on the
smallest built-in model, watch progress and the chart move without a reload, see it succeed, ask
the playground, download the model; then a second user is refused the first user's job.
"""

import re
import zipfile
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import expect

from jobs.models import Job

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SAMPLE = Path(__file__).resolve().parents[2] / "jobs" / "sample_data" / "shakespeare.txt"
PASSWORD = "a long test password 93"
TRAINING_TIMEOUT_MS = 300_000


def sample_excerpt(folder, paragraphs=120):
    """The first speeches of the shipped sample: enough to learn from, quick to train."""
    text = SAMPLE.read_text(encoding="utf-8")
    chunks = [c for c in re.split(r"\n\s*\n", text) if c.strip()][:paragraphs]
    path = folder / "shakespeare-sample.txt"
    path.write_text("\n\n".join(chunks) + "\n", encoding="utf-8")
    return path


def sign_up(page, base_url, username):
    page.goto(f"{base_url}/accounts/signup/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    # The live server runs in this process, so its mail lands in this outbox.
    body = next(m.body for m in reversed(mail.outbox) if f"{username}@example.com" in m.to)
    page.goto(re.search(r"http://\S+/accounts/signup/\S+/", body).group(0))
    expect(page.get_by_role("heading", name="Your fine-tuning jobs")).to_be_visible()


def fill_wizard(page, sample):
    upload = page.locator("details.inline-upload")
    if upload.get_attribute("open") is None:  # open from the start when there is no dataset yet
        page.get_by_text("Upload a new dataset").click()
    page.set_input_files("#upload-file", str(sample))
    page.get_by_role("button", name="Upload and validate").click()
    expect(page.locator("#upload-status")).to_contain_text("Uploaded", timeout=60_000)
    expect(page.locator("#id_dataset option:checked")).to_contain_text("shakespeare-sample")
    page.locator("input[name=base_model][value=builtin-tiny]").check()
    page.get_by_role("button", name="Auto-configure").click()
    expect(page.locator("#id_learning_rate")).not_to_have_value("", timeout=30_000)
    expect(page.locator("#reason-learning_rate")).to_contain_text("Auto")
    expect(page.locator("#est-time")).not_to_have_text("—")
    # A value auto-config cannot accept is explained next to the field, before launching.
    page.locator("#id_learning_rate").fill("5")
    expect(page.locator("#error-learning_rate")).to_contain_text("0.01", timeout=10_000)
    page.locator("#id_learning_rate").fill("")
    expect(page.locator("#error-learning_rate")).to_have_text("", timeout=10_000)
    # An edit is the user's own value; the estimate refreshes for it.
    page.locator("#id_epochs").fill("1")
    expect(page.locator("#reason-epochs")).to_have_text("Your value.", timeout=10_000)
    page.get_by_label("Job name").fill("Tiny Shakespeare")


def watch_it_train(page):
    """Progress, figures and chart change while the page stays the same document."""
    page.evaluate("window.__sameDocument = true")
    expect(page.locator("#job-status")).to_have_text(re.compile("Running"), timeout=120_000)
    expect(page.locator("#loss-chart path.series").first).to_be_attached(timeout=120_000)
    first_step = page.locator("#fig-step").inner_text()
    first_curve = page.locator("#loss-chart path.series").first.get_attribute("d")
    page.wait_for_function(
        "([step, curve]) => document.getElementById('fig-step').textContent !== step"
        " && document.querySelector('#loss-chart path.series').getAttribute('d') !== curve",
        arg=[first_step, first_curve],
        timeout=120_000,
    )
    assert page.evaluate("window.__sameDocument") is True
    assert int(page.locator("#job-progress").get_attribute("value") or 0) >= 0


def test_a_new_user_trains_tries_and_downloads_a_model(
    new_context, live_server, worker, shots, tmp_path
):
    context = new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    snap = shots(page)
    base = live_server.url

    sign_up(page, base, "ada")
    expect(page.get_by_text("No jobs yet")).to_be_visible()
    snap.take("01-dashboard-empty")

    page.get_by_role("link", name="Create your first job").click()
    fill_wizard(page, sample_excerpt(tmp_path))
    snap.take("02-wizard-autoconfigured")
    page.get_by_role("button", name="Launch training").click()
    page.wait_for_url(re.compile(r"/jobs/\d+/$"))
    job = Job.objects.get(name="Tiny Shakespeare")
    assert job.requested_hyperparameters == {"epochs": 1}

    watch_it_train(page)
    snap.take("03-job-running")

    expect(page.locator("#job-status")).to_have_text("Succeeded", timeout=TRAINING_TIMEOUT_MS)
    expect(page.get_by_role("link", name="Open playground")).to_be_visible(timeout=15_000)
    expect(page.locator("#checkpoint-rows")).to_contain_text("final model")
    page.get_by_label("Log scale").check()
    snap.take("04-job-succeeded")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download model (.zip)").click()
    archive = tmp_path / "model.zip"
    download_info.value.save_as(archive)
    assert "model/config.json" in zipfile.ZipFile(archive).namelist()

    page.get_by_role("link", name="Open playground").click()
    page.get_by_label("Prompt").fill("ROMEO:")
    page.get_by_label("Max new tokens").fill("24")
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#generate-status")).to_contain_text("Answered in", timeout=30_000)
    assert page.locator("#output").inner_text().strip()
    expect(page.locator("#base-label")).to_contain_text("random weights")
    snap.take("05-playground")

    clone_and_compare(page, base, job, snap)
    page.goto(f"{base}/")
    snap.take("08-dashboard")

    stranger = new_context(viewport={"width": 390, "height": 800})
    other = stranger.new_page()
    sign_up(other, base, "bob")
    for path in (
        f"/jobs/{job.pk}/",
        f"/jobs/{job.pk}/live/",
        f"/jobs/{job.pk}/playground/",
        f"/api/v1/jobs/{job.pk}/",
    ):
        assert other.goto(base + path).status == 404, path


def clone_and_compare(page, base, job, snap):
    """Clone opens the wizard with the same settings; the clone is cancelled, then compared."""
    page.goto(f"{base}/jobs/{job.pk}/")
    page.get_by_role("link", name="Clone settings").click()
    expect(page.get_by_label("Job name")).to_have_value("Tiny Shakespeare (copy)")
    expect(page.locator("#id_epochs")).to_have_value("1")
    page.locator("#id_learning_rate").fill("0.002")
    snap.take("06-wizard-clone")
    page.get_by_role("button", name="Launch training").click()
    page.wait_for_url(re.compile(r"/jobs/\d+/$"))
    page.get_by_role("button", name="Cancel job").click()
    page.get_by_role("button", name="Yes, cancel the job").click()  # it asks first
    expect(page.locator("#job-status")).to_have_text(re.compile("Cancel"), timeout=60_000)
    page.goto(f"{base}/")
    page.locator("input[name=ids]").nth(0).check()
    page.locator("input[name=ids]").nth(1).check()
    page.get_by_role("button", name="Compare selected").click()
    expect(page.locator("tr.differs").first).to_be_visible()
    expect(page.locator("#compare-chart path.series").first).to_be_attached()
    snap.take("07-compare")
