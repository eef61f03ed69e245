"""Early stopping and the best model on the job page, with a real worker: a job whose eval loss
climbs after a few steps stops early, the chart rings the best eval point (live and after the
reload), and the checkpoint table marks the best checkpoint, which can be downloaded."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from jobs.datasets.services import dataset_create
from jobs.models import BaseModel, Job

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long test password 93"
HP = {
    "epochs": 10,
    "batch_size": 4,
    "max_seq_length": 32,
    "learning_rate": 1e-2,
    "lr_scheduler": "constant",
    "warmup_ratio": 0.0,
    "eval_steps": 2,
    "save_steps": 0,
    "early_stopping_patience": 3,
}


def qa(owner, answer, n):
    rows = [{"prompt": "Q: colour of sky?", "completion": f" {answer}"}] * n
    body = "\n".join(json.dumps(r) for r in rows).encode()
    return dataset_create(
        owner=owner, upload=SimpleUploadedFile(f"{answer}.jsonl", body), name=answer
    )


def test_the_job_page_marks_the_best_point_and_checkpoint_of_an_early_stopped_job(
    new_context, live_server, django_user_model, request, shots
):
    owner = django_user_model.objects.create_user("bea", "bea@example.com", PASSWORD)
    # An earlier job with these settings, cloned in the wizard and launched from the browser.
    earlier = Job.objects.create(
        owner=owner,
        name="overfits",
        dataset=qa(owner, "green", 16),
        validation_dataset=qa(owner, "blue", 10),
        base_model=BaseModel.objects.get(key="builtin-tiny"),
        requested_hyperparameters=HP,
        status=Job.Status.FAILED,
    )
    page = new_context().new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("bea")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/jobs/new/?from={earlier.pk}")
    page.get_by_role("button", name="Launch training").click()
    expect(page.locator(".message.queued-note")).to_be_visible()
    job = Job.objects.exclude(pk=earlier.pk).get(owner=owner)
    assert job.requested_hyperparameters == HP
    request.getfixturevalue("worker")

    expect(page.locator("#loss-chart .best-marker")).to_be_attached(timeout=180_000)
    expect(page.locator(".message.queued-note")).to_have_count(0)  # gone once it started
    expect(page.locator("#job-page[data-finished='1']")).to_be_attached(timeout=300_000)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    best = job.actual["best_step"]
    assert job.actual["early_stopped"] and best < job.step < job.total_steps

    marker = page.locator("#loss-chart .best-marker")
    expect(marker).to_have_attribute("data-step", str(best))
    expect(page.locator("#loss-chart .legend")).to_contain_text(f"at step {best}")
    row = page.locator("#checkpoint-rows tr.best-checkpoint")
    expect(row).to_contain_text(str(best))
    expect(row.locator(".badge.best")).to_have_text("best")
    expect(page.locator("#job-log")).to_contain_text(f"Stopped early at step {job.step}")
    expect(page.locator(".hp-table")).to_contain_text("early_stopping_patience")
    shots(page).take("job-best-model")

    with page.expect_download() as download:
        row.get_by_role("link", name="Download").click()
    assert download.value.suggested_filename == f"llm-tuner-job-{job.pk}-step-{best}-model.zip"
