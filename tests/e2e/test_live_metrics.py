"""The live job page shows every evaluation point while a real worker trains, without a reload.

An eval point is written after the train point of its step; the page used to ask for points
after the last step it had, so eval points written a moment later were never fetched."""

import pytest
from playwright.sync_api import expect

from jobs.models import Job, MetricPoint
from jobs.training.services import job_launch
from tests.jobs.training.runs import FAST, make_dataset

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long test password 93"
# Counted when the page unloads: finishing reloads the page, and only the live count matters.
COUNT_ON_UNLOAD = """
window.addEventListener("beforeunload", function () {
  if (!document.getElementById("job-page")) return;  // the sign-in page unloads too
  if (sessionStorage.getItem("liveEvalDots") !== null) return;
  const titles = Array.from(document.querySelectorAll("#loss-chart circle title"));
  const evals = titles.filter(function (t) { return t.textContent.startsWith("eval loss"); });
  sessionStorage.setItem("liveEvalDots", String(evals.length));
});
"""


def test_every_eval_point_appears_on_the_live_chart(
    new_context, live_server, django_user_model, request, shots
):
    owner = django_user_model.objects.create_user("eve", "eve@example.com", PASSWORD)
    hyperparameters = {
        **FAST,
        "batch_size": 2,
        "gradient_accumulation_steps": 1,
        "eval_steps": 2,
        "save_steps": 1000,
    }
    job = job_launch(
        owner=owner,
        name="many evals",
        dataset=make_dataset(owner, lines=300),
        base_model_key="builtin-tiny",
        hyperparameters=hyperparameters,
    )
    context = new_context()
    context.add_init_script(COUNT_ON_UNLOAD)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("eve")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/jobs/{job.pk}/")
    request.getfixturevalue("worker")  # the page is open before training starts

    expect(page.locator("#loss-chart circle title", has_text="eval loss").nth(4)).to_be_attached(
        timeout=180_000
    )
    shots(page).take("job-live-evals")
    # Finishing reloads the page (the count was saved as it unloaded); wait for the new one.
    expect(page.locator("#job-page[data-finished='1']")).to_be_attached(timeout=300_000)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    written = MetricPoint.objects.filter(job=job).exclude(eval_loss=None).count()
    assert written >= 10, (job.total_steps, job.hyperparameters)
    assert int(page.evaluate("sessionStorage.getItem('liveEvalDots')")) == written
    expect(page.locator("#loss-chart circle title", has_text="eval loss")).to_have_count(written)
    # Token accuracy is charted beside the loss: a dot for every evaluation, a line for training.
    expect(
        page.locator("#accuracy-chart circle title", has_text="eval token accuracy")
    ).to_have_count(written)
    expect(page.locator("#accuracy-chart path.series").first).to_be_attached()
