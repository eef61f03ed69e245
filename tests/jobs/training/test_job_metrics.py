"""Token accuracy and perplexity of a real job (sync queue, built-in tiny model): recorded with
the losses, served by the metrics API, in the job's measured figures and the comparison view."""

import pytest
from django.urls import reverse

from jobs.models import Job
from tests.jobs.factories import make_job
from tests.jobs.training.runs import launch, make_dataset


@pytest.fixture
def trained_job(owner, settings, django_capture_on_commit_callbacks):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    with django_capture_on_commit_callbacks(execute=True):
        job = launch(owner, make_dataset(owner, lines=60))
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    return job


@pytest.mark.django_db
def test_accuracy_and_perplexity_reach_the_api_and_the_comparison(
    trained_job, owner, owner_api, other_api, client
):
    url = f"/api/v1/jobs/{trained_job.pk}/metrics/"
    body = owner_api.get(url).json()
    points = body["results"] if isinstance(body, dict) else body
    logged = [p for p in points if p["train_loss"] is not None]
    evals = [p for p in points if p["eval_loss"] is not None]
    assert logged and all(0 <= p["train_accuracy"] <= 1 for p in logged)
    assert evals and all(0 <= p["eval_accuracy"] <= 1 for p in evals)
    assert all(p["eval_perplexity"] > 1 for p in evals)
    assert evals[-1]["step"] == trained_job.total_steps  # the full pass at the end
    assert other_api.get(url).status_code == 404

    actual = owner_api.get(f"/api/v1/jobs/{trained_job.pk}/").json()["actual"]
    assert actual["eval_accuracy"] == pytest.approx(evals[-1]["eval_accuracy"], abs=1e-4)
    assert actual["eval_perplexity"] == pytest.approx(evals[-1]["eval_perplexity"], rel=1e-3)

    other = make_job(owner, trained_job.dataset, name="no metrics", status=Job.Status.FAILED)
    client.force_login(owner)
    page = client.get(reverse("job-compare"), {"ids": [trained_job.pk, other.pk]})
    html = page.content.decode()
    assert "Token accuracy (validation)" in html and "Validation perplexity" in html
    assert f"{actual['eval_accuracy']:.1%}" in html
    assert 'id="compare-accuracy-chart"' in html
    detail = client.get(reverse("job-detail", args=[trained_job.pk])).content.decode()
    assert 'id="accuracy-chart"' in detail
