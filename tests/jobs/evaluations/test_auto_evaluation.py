"""A job that succeeds is evaluated on its held-out examples, beside its base model, and its
page and API say the result in one line."""

import pytest

from jobs.models import Evaluation
from tests.jobs.evaluations.conftest import qa_rows, upload
from tests.jobs.training.runs import launch, make_dataset

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sync_queue")]

HP = {
    "epochs": 2,
    "batch_size": 4,
    "max_seq_length": 32,
    "learning_rate": 3e-3,
    "eval_steps": 4,
    "save_steps": 4,
    "warmup_ratio": 0.0,
}


def test_a_finished_job_is_evaluated_against_its_base_model(
    owner, owner_api, django_capture_on_commit_callbacks
):
    dataset = upload(owner, qa_rows(40))
    with django_capture_on_commit_callbacks(execute=True):
        job = launch(owner, dataset, hyperparameters=HP, evaluation_regex=r"^ WORDNUM-\d+:")
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    tuned = Evaluation.objects.get(source_job=job, role="tuned")
    base = Evaluation.objects.get(source_job=job, role="base")
    assert (tuned.status, base.status) == ("succeeded", "succeeded"), (tuned.error, base.error)
    assert tuned.model == f"job-{job.pk}" and base.model == "builtin-tiny"
    # 40 examples hold out 4 (a tenth); both models answer the same ones.
    assert tuned.split == "held_out" and tuned.summary["exact_match"]["n"] == 4
    assert list(tuned.examples.values_list("index", flat=True)) == list(
        base.examples.values_list("index", flat=True)
    )
    assert "regex" in tuned.metrics
    # The sample prompts answered at every kept checkpoint and by the final model.
    steps = tuned.checkpoint_samples["steps"]
    assert [s["final"] for s in steps][-1] is True and len(steps) >= 2
    assert all(len(s["outputs"]) == len(tuned.checkpoint_samples["prompts"]) for s in steps)

    detail = owner_api.get(f"/api/v1/jobs/{job.pk}/").json()
    assert {e["role"] for e in detail["evaluations"]} == {"tuned", "base"}
    line = detail["evaluation_summary"]
    assert line.startswith("exact match ") and "(base → tuned)" in line
    assert "regex match" in line and line.endswith("4 held-out examples")


def test_auto_evaluation_false_turns_it_off(owner, django_capture_on_commit_callbacks):
    dataset = upload(owner, qa_rows(12))
    with django_capture_on_commit_callbacks(execute=True):
        job = launch(owner, dataset, hyperparameters=HP, auto_evaluation=False)
    job.refresh_from_db()
    assert job.status == "succeeded"
    assert not Evaluation.objects.filter(source_job=job).exists()


def test_a_plain_text_job_without_validation_data_says_why_it_has_none(
    owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = launch(owner, make_dataset(owner), hyperparameters=HP)
    job.refresh_from_db()
    assert job.status == "succeeded"
    assert not Evaluation.objects.filter(source_job=job).exists()
    assert job.events.filter(message__startswith="No automatic evaluation: plain text").exists()


def test_a_bad_evaluation_regex_refuses_the_launch(owner_api, owner):
    dataset = upload(owner, qa_rows(12))
    response = owner_api.post(
        "/api/v1/jobs/",
        {
            "name": "x",
            "dataset": dataset.pk,
            "base_model": "builtin-tiny",
            "evaluation_regex": "([a-z]+)*$",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "evaluation_regex" in response.json()


def test_the_estimate_counts_the_automatic_evaluation_unless_it_is_off(owner, owner_api):
    dataset = upload(owner, qa_rows(40))
    body = {"dataset": dataset.pk, "base_model": "builtin-tiny", "hyperparameters": HP}
    estimate = owner_api.post("/api/v1/jobs/estimate/", body, format="json").json()["estimate"]
    auto = estimate["auto_evaluation"]
    assert auto["examples"] == 4 and auto["models"] == 2 and auto["seconds"] > 0
    on = owner_api.post("/api/v1/jobs/", {**body, "name": "on"}, format="json").json()
    off = owner_api.post(
        "/api/v1/jobs/", {**body, "name": "off", "auto_evaluation": False}, format="json"
    ).json()
    assert on["estimate"]["auto_evaluation"] == auto and on["auto_evaluation"] is True
    assert "auto_evaluation" not in off["estimate"] and off["auto_evaluation"] is False
    gap = on["estimate"]["wall_seconds"] - off["estimate"]["wall_seconds"]
    assert gap == pytest.approx(auto["seconds"], abs=0.2)
