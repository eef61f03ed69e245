"""The evaluations API end to end: create, run on the (sync) queue, read the summary and the
examples, the leaderboard; bad input and other users' things."""

import pytest

from jobs.models import Evaluation
from tests.jobs.evaluations.conftest import upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sync_queue")]

URL = "/api/v1/evaluations/"
FAST = {"max_new_tokens": 6, "batch_size": 8}


def create(api, capture, **body):
    with capture(execute=True):
        return api.post(URL, {"generation": FAST, **body}, format="json")


def test_an_evaluation_runs_and_reports_each_metric_with_an_interval(
    owner_api, qa_dataset, django_capture_on_commit_callbacks
):
    response = create(
        owner_api,
        django_capture_on_commit_callbacks,
        model="builtin-tiny",
        dataset=qa_dataset.pk,
        regex=r"^ WORDNUM-\d+:",
    )
    assert response.status_code == 201, response.json()
    detail = owner_api.get(response.json()["url"]).json()
    assert detail["status"] == "succeeded", detail["error"]
    names = {"exact_match", "contains", "rouge_l", "bleu", "chrf", "perplexity", "regex"}
    assert set(detail["metrics"]) == names
    for figure in detail["metrics"].values():
        assert figure["n"] == 24
        assert figure["ci_low"] <= figure["value"] <= figure["ci_high"]
    # Random weights do not answer in the pattern; their perplexity is near the vocabulary's.
    assert detail["metrics"]["exact_match"]["value"] == 0
    assert detail["metrics"]["perplexity"]["value"] > 1000
    assert detail["progress"] == {
        "examples_done": 24,
        "examples_total": 24,
        "percent": 100,
        "eta_seconds": 0.0,
    }
    examples = owner_api.get(detail["urls"]["examples"]).json()
    assert examples["count"] == 24
    first = examples["results"][0]
    assert first["prompt"] == "Question 0: name the number."  # the completion starts with a space
    assert first["reference"] == " WORDNUM-0: number 0"
    assert set(first["scores"]) >= {"exact_match", "regex", "rouge_l", "perplexity"}
    assert first["output_tokens"] >= 1 and first["prompt_tokens"] > 0


def test_examples_sort_by_score_and_filter(
    owner_api, qa_dataset, django_capture_on_commit_callbacks
):
    response = create(
        owner_api,
        django_capture_on_commit_callbacks,
        model="builtin-tiny",
        dataset=qa_dataset.pk,
        metrics=["rouge_l"],
    )
    examples_url = response.json()["urls"]["examples"]
    worst = owner_api.get(examples_url, {"ordering": "score"}).json()["results"]
    best = owner_api.get(examples_url, {"ordering": "-score"}).json()["results"]
    assert [r["score"] for r in worst] == sorted(r["score"] for r in worst)
    assert best[0]["score"] == max(r["score"] for r in worst + best)
    wrong = owner_api.get(examples_url, {"filter": "wrong"}).json()
    assert all(not r["right"] for r in wrong["results"])
    bad = owner_api.get(examples_url, {"ordering": "bleu"})
    assert bad.status_code == 400 and "ordering" in bad.json()


def test_a_plain_text_dataset_gets_perplexity_only_and_says_why(
    owner, owner_api, django_capture_on_commit_callbacks
):
    text = upload(owner, [f"Line {i} of a plain text." for i in range(12)], "notes", "txt")
    response = create(
        owner_api, django_capture_on_commit_callbacks, model="builtin-tiny", dataset=text.pk
    )
    assert response.status_code == 201
    body = owner_api.get(response.json()["url"]).json()
    assert body["metric_names"] == ["perplexity"]
    assert "no reference answer" in body["notes"][0]
    assert body["metrics"]["perplexity"]["n"] == 12
    refused = owner_api.post(
        URL,
        {"model": "builtin-tiny", "dataset": text.pk, "metrics": ["exact_match"]},
        format="json",
    )
    assert refused.status_code == 400
    assert "only perplexity" in str(refused.json()["metrics"])


def test_bad_input_names_the_field(owner_api, qa_dataset):
    regex = owner_api.post(
        URL,
        {"model": "builtin-tiny", "dataset": qa_dataset.pk, "regex": "(unclosed"},
        format="json",
    )
    assert regex.status_code == 400 and "regex" in regex.json()
    metric = owner_api.post(
        URL,
        {"model": "builtin-tiny", "dataset": qa_dataset.pk, "metrics": ["bleurt"]},
        format="json",
    )
    assert metric.status_code == 400 and "bleurt" in str(metric.json()["metrics"])
    unknown = owner_api.post(URL, {"model": "gpt-99", "dataset": qa_dataset.pk}, format="json")
    assert unknown.status_code == 400 and "model" in unknown.json()
    generation = owner_api.post(
        URL,
        {"model": "builtin-tiny", "dataset": qa_dataset.pk, "generation": {"max_new_tokens": 0}},
        format="json",
    )
    assert generation.status_code == 400 and "max_new_tokens" in str(generation.json())
    assert not Evaluation.objects.exists()


def test_another_users_model_dataset_and_evaluation_do_not_exist_for_you(
    owner, other_user, owner_api, other_api, qa_dataset
):
    from tests.jobs.factories import make_job

    job = make_job(other_user, status="succeeded")
    theirs = owner_api.post(
        URL, {"model": f"job-{job.pk}", "dataset": qa_dataset.pk}, format="json"
    )
    assert theirs.status_code == 404
    dataset = other_api.post(
        URL, {"model": "builtin-tiny", "dataset": qa_dataset.pk}, format="json"
    )
    assert dataset.status_code == 404 and "dataset" in dataset.json()
    mine = owner_api.post(URL, {"model": "builtin-tiny", "dataset": qa_dataset.pk}, format="json")
    url = mine.json()["url"]
    assert other_api.get(url).status_code == 404
    assert other_api.post(url + "cancel/").status_code == 404
    assert other_api.delete(url).status_code == 404
    assert other_api.get(URL).json()["count"] == 0


def test_cancel_a_queued_evaluation_then_delete_it(owner_api, qa_dataset):
    created = owner_api.post(
        URL, {"model": "builtin-tiny", "dataset": qa_dataset.pk}, format="json"
    )
    body = created.json()
    assert body["status"] == "queued"
    assert body["estimate"]["seconds"] > 0 and body["estimate"]["peak_memory_bytes"] > 0
    assert "cost" in body["estimate"]
    cancelled = owner_api.post(body["urls"]["cancel"])
    assert cancelled.json()["status"] == "cancelled"
    again = owner_api.post(body["urls"]["cancel"])
    assert again.status_code == 409 and "already cancelled" in again.json()["detail"]
    assert owner_api.delete(body["url"]).status_code == 204
    assert owner_api.get(body["url"]).status_code == 404


def test_the_leaderboard_ranks_models_with_a_paired_test(
    owner_api, qa_dataset, django_capture_on_commit_callbacks
):
    for model in ("builtin-tiny", "builtin-small"):
        response = create(
            owner_api,
            django_capture_on_commit_callbacks,
            model=model,
            dataset=qa_dataset.pk,
            metrics=["perplexity"],
        )
        assert response.status_code == 201
    board = owner_api.get(
        URL + "leaderboard/", {"dataset": qa_dataset.pk, "metric": "perplexity"}
    ).json()
    rows = board["results"]
    assert [r["rank"] for r in rows] == [1, 2]
    assert rows[0]["value"] <= rows[1]["value"]  # lower perplexity ranks first
    assert rows[0]["versus_next"]["n"] == 24
    assert rows[0]["versus_next_text"].startswith(rows[0]["model"])
    assert rows[1]["versus_next"] is None


def test_a_dry_run_says_what_it_would_cost_and_queues_nothing(owner_api, qa_dataset):
    body = {"model": "builtin-tiny", "dataset": qa_dataset.pk, "max_examples": 10}
    answer = owner_api.post(URL + "?dry_run=1", body, format="json")
    assert answer.status_code == 200
    preview = answer.json()
    assert preview["examples"] == 10 and preview["model"] == "builtin-tiny"
    assert preview["metric_names"][0] == "exact_match"
    assert preview["estimate"]["seconds"] > 0 and preview["estimate"]["pool"]
    assert not Evaluation.objects.exists()
    bad = owner_api.post(URL + "?dry_run=1", {**body, "regex": "("}, format="json")
    assert bad.status_code == 400 and "regex" in bad.json()
