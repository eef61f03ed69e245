"""The jobs REST API: owner-only access, listing, launch, edits, cancel/delete rules, history."""

import io
import zipfile

import pytest

from jobs.models import Job, MetricPoint
from tests.jobs.factories import add_history, give_tiny_model, make_dataset, make_job

pytestmark = pytest.mark.django_db


def url(job, action=""):
    return f"/api/v1/jobs/{job.pk}/" + (f"{action}/" if action else "")


def test_the_list_shows_only_my_jobs_newest_first_and_paginates(owner_api, owner, other_user):
    dataset = make_dataset(owner)
    mine = [make_job(owner, dataset, name=f"job {i}") for i in range(22)]
    make_job(other_user, name="not mine")
    first = owner_api.get("/api/v1/jobs/").json()
    assert first["count"] == 22
    assert len(first["results"]) == 20
    assert first["results"][0]["id"] == mine[-1].pk
    assert "not mine" not in [j["name"] for j in first["results"]]
    second = owner_api.get(first["next"]).json()
    assert [j["name"] for j in second["results"]] == ["job 1", "job 0"]


def test_the_list_filters_by_status_and_name(owner_api, owner):
    dataset = make_dataset(owner)
    make_job(owner, dataset, name="alpha", status=Job.Status.RUNNING)
    make_job(owner, dataset, name="beta", status=Job.Status.SUCCEEDED)
    running = owner_api.get("/api/v1/jobs/?status=running").json()
    assert [j["name"] for j in running["results"]] == ["alpha"]
    named = owner_api.get("/api/v1/jobs/?search=BET").json()
    assert [j["name"] for j in named["results"]] == ["beta"]
    bad = owner_api.get("/api/v1/jobs/?status=sleeping")
    assert bad.status_code == 400
    assert "status" in bad.json()


@pytest.mark.parametrize(
    "method,action",
    [
        ("get", ""),
        ("patch", ""),
        ("delete", ""),
        ("post", "cancel"),
        ("get", "metrics"),
        ("get", "events"),
        ("get", "checkpoints"),
        ("get", "model"),
        ("post", "generate"),
    ],
)
def test_another_users_job_is_not_found_on_every_endpoint(other_api, owner, method, action):
    job = make_job(owner, status=Job.Status.SUCCEEDED)
    response = getattr(other_api, method)(
        url(job, action), {"prompt": "hi", "name": "x"}, format="json"
    )
    assert response.status_code == 404
    job.refresh_from_db()
    assert job.name == "Fox job"


def test_anonymous_requests_are_refused(api_client, owner):
    job = make_job(owner)
    assert api_client.get(url(job)).status_code in (401, 403)
    assert api_client.get("/api/v1/jobs/").status_code in (401, 403)


def test_launching_a_job_returns_it_queued_with_resolved_settings_and_links(owner_api, owner):
    dataset = make_dataset(owner)
    response = owner_api.post(
        "/api/v1/jobs/",
        {
            "name": "First",
            "dataset": dataset.pk,
            "base_model": "builtin-tiny",
            "method": "full",
            "hyperparameters": {"epochs": 2},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "queued"
    assert body["dataset_name"] == "Fox lines"
    assert body["base_model"] == "builtin-tiny"
    assert body["requested_hyperparameters"] == {"epochs": 2}
    assert body["hyperparameters"]["epochs"] == 2
    assert "learning_rate" in body["hyperparameters"]
    assert body["progress"]["total_steps"] > 0
    assert body["estimate"]["seconds"] > 0
    assert body["urls"]["metrics"].endswith(f"/api/v1/jobs/{body['id']}/metrics/")
    assert body["urls"]["portal"].endswith(f"/jobs/{body['id']}/")
    assert Job.objects.get(pk=body["id"]).owner == owner


def test_launching_on_someone_elses_dataset_is_a_field_error(owner_api, other_user):
    theirs = make_dataset(other_user)
    response = owner_api.post(
        "/api/v1/jobs/",
        {"name": "x", "dataset": theirs.pk, "base_model": "builtin-tiny"},
        format="json",
    )
    assert response.status_code == 404
    assert "dataset" in response.json()
    assert not Job.objects.exists()


def test_launching_with_an_unknown_base_model_says_which_field(owner_api, owner):
    dataset = make_dataset(owner)
    response = owner_api.post(
        "/api/v1/jobs/", {"name": "x", "dataset": dataset.pk, "base_model": "gpt-9"}, format="json"
    )
    assert response.status_code == 404
    assert "base_model" in response.json()


def test_launching_with_an_out_of_range_hyperparameter_names_it(owner_api, owner):
    dataset = make_dataset(owner)
    response = owner_api.post(
        "/api/v1/jobs/",
        {
            "name": "x",
            "dataset": dataset.pk,
            "base_model": "builtin-tiny",
            "hyperparameters": {"learning_rate": 5},
        },
        format="json",
    )
    assert response.status_code == 400
    assert "hyperparameters.learning_rate" in response.json()
    assert not Job.objects.exists()


def test_launching_without_required_fields_lists_each_missing_field(owner_api):
    response = owner_api.post("/api/v1/jobs/", {}, format="json")
    assert response.status_code == 400
    assert {"name", "dataset", "base_model"} <= set(response.json())


def test_patch_changes_name_and_notes_but_nothing_else(owner_api, owner):
    job = make_job(owner, status=Job.Status.RUNNING)
    response = owner_api.patch(
        url(job), {"name": "Renamed", "notes": "lr too high?"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Renamed"
    job.refresh_from_db()
    assert (job.name, job.notes, job.status) == ("Renamed", "lr too high?", Job.Status.RUNNING)
    assert owner_api.patch(url(job), {"name": ""}, format="json").status_code == 400


def test_patch_refuses_read_only_and_unknown_fields_by_name_and_changes_nothing(owner_api, owner):
    job = make_job(owner, status=Job.Status.RUNNING)
    response = owner_api.patch(
        url(job), {"name": "Renamed", "status": "failed", "colour": "red"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "colour": ["Unknown field: only name, notes and team can be changed."],
        "status": ["Read-only: only name, notes and team can be changed."],
    }
    job.refresh_from_db()
    assert (job.name, job.status) == ("Fox job", Job.Status.RUNNING)


def test_a_running_job_cannot_be_deleted_until_cancelled(owner_api, owner):
    job = make_job(owner, status=Job.Status.RUNNING)
    response = owner_api.delete(url(job))
    assert response.status_code == 409
    assert "cancel" in response.json()["detail"].lower()
    assert Job.objects.filter(pk=job.pk).exists()


def test_a_finished_job_is_deleted_with_its_history(owner_api, owner):
    job = make_job(owner, status=Job.Status.FAILED)
    add_history(job)
    assert owner_api.delete(url(job)).status_code == 204
    assert not Job.objects.filter(pk=job.pk).exists()
    assert owner_api.get(url(job)).status_code == 404


def test_cancelling_a_queued_job_stops_it_and_a_finished_job_is_a_conflict(owner_api, owner):
    queued = make_job(owner)
    response = owner_api.post(url(queued, "cancel"))
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    again = owner_api.post(url(queued, "cancel"))
    assert again.status_code == 409
    assert "already" in again.json()["detail"]


def test_cancelling_a_running_job_asks_its_worker_to_stop(owner_api, owner):
    job = make_job(owner, status=Job.Status.RUNNING)
    body = owner_api.post(url(job, "cancel")).json()
    assert body["cancel_requested"] is True
    assert body["status"] == "running"


def test_metrics_after_a_step_return_only_newer_points_in_order(owner_api, owner):
    job = make_job(owner, status=Job.Status.RUNNING)
    add_history(job, steps=5)
    everything = owner_api.get(url(job, "metrics")).json()
    assert [p["step"] for p in everything["results"]] == [1, 2, 3, 4, 5, 5]
    assert everything["next"] is None
    newer = owner_api.get(url(job, "metrics") + "?after_step=3").json()["results"]
    assert [p["step"] for p in newer] == [4, 5, 5]
    assert newer[-1]["eval_loss"] == 3.1
    assert owner_api.get(url(job, "metrics") + "?after_step=x").status_code == 400


def test_events_after_an_id_return_only_newer_lines(owner_api, owner):
    job = make_job(owner, status=Job.Status.RUNNING)
    events, _ = add_history(job)
    newer = owner_api.get(url(job, "events") + f"?after={events[0].pk}").json()["results"]
    assert [e["message"] for e in newer] == ["line 1", "line 2"]
    assert {"id", "created_at", "level", "message"} <= set(newer[0])


def test_checkpoints_list_sizes_and_eval_loss(owner_api, owner):
    job = make_job(owner, status=Job.Status.RUNNING)
    add_history(job, steps=4)
    rows = owner_api.get(url(job, "checkpoints")).json()
    assert rows == [{**rows[0], "step": 4, "size_bytes": 2048, "eval_loss": 3.1, "is_final": False}]


def test_a_full_batch_of_metrics_points_to_the_next_batch_by_id(owner, settings):
    from jobs.monitoring import live

    job = make_job(owner, status=Job.Status.RUNNING)
    add_history(job, steps=5)  # steps 1..5 plus an eval point at step 5
    rows, more = live.metrics_after(job, limit=5)
    assert more and [r.step for r in rows] == [1, 2, 3, 4, 5]
    rows, more = live.metrics_after(job, after_id=rows[-1].id, limit=5)
    assert not more and [(r.step, r.eval_loss) for r in rows] == [(5, 3.1)]


def test_a_client_polling_the_metrics_never_misses_a_point_written_at_a_step_it_saw(
    owner_api, owner
):
    job = make_job(owner, status=Job.Status.RUNNING)
    MetricPoint.objects.create(job=job, step=10, train_loss=4.0)
    first = owner_api.get(url(job, "metrics") + "?after_step=5").json()
    assert [p["step"] for p in first["results"]] == [10] and first["next"] is None
    # The evaluation of step 10 finishes after the client saw step 10's train loss.
    MetricPoint.objects.create(job=job, step=10, eval_loss=3.5)
    second = owner_api.get(first["poll"]).json()
    assert [(p["step"], p["eval_loss"]) for p in second["results"]] == [(10, 3.5)]
    third = owner_api.get(second["poll"]).json()
    assert third["results"] == [] and third["poll"] == second["poll"]
    by_id = owner_api.get(url(job, "metrics") + f"?after_id={first['results'][0]['id']}").json()
    assert [p["eval_loss"] for p in by_id["results"]] == [3.5]


def test_model_download_is_a_conflict_until_the_job_succeeds(owner_api, owner):
    job = make_job(owner, status=Job.Status.RUNNING)
    response = owner_api.get(url(job, "model"))
    assert response.status_code == 409
    assert "succeeded" in response.json()["detail"]


def test_a_succeeded_job_downloads_its_model_as_a_zip(owner_api, owner):
    job = make_job(owner)
    give_tiny_model(job)
    response = owner_api.get(url(job, "model"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    names = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
    assert "model/config.json" in names


def test_base_models_list_the_catalog_and_my_succeeded_jobs(owner_api, owner, other_user):
    mine = make_job(owner)
    give_tiny_model(mine)
    theirs = make_job(other_user)
    give_tiny_model(theirs)
    entries = {e["key"]: e for e in owner_api.get("/api/v1/base-models/").json()}
    assert entries["builtin-tiny"]["available"] is True
    assert entries["builtin-tiny"]["parameters"] > 0
    assert f"job-{mine.pk}" in entries
    assert f"job-{theirs.pk}" not in entries


def test_generate_is_a_conflict_while_the_job_has_no_model(owner_api, owner):
    job = make_job(owner, status=Job.Status.RUNNING)
    response = owner_api.post(url(job, "generate"), {"prompt": "Hello"}, format="json")
    assert response.status_code == 409


def test_generate_answers_with_the_fine_tuned_and_the_base_model(owner_api, owner):
    job = make_job(owner)
    give_tiny_model(job)
    response = owner_api.post(
        url(job, "generate"),
        {"prompt": "The quick brown", "max_new_tokens": 8, "temperature": 0, "compare_base": True},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert isinstance(body["output"], str) and body["output"]
    assert isinstance(body["base_output"], str)
    assert "random weights" in body["base_label"]
    assert body["seconds"] >= 0


def test_generate_keeps_prompt_and_answer_within_a_short_context(owner_api, owner):
    job = make_job(owner)
    give_tiny_model(job)  # a context of 128 tokens
    response = owner_api.post(
        url(job, "generate"),
        {"prompt": "word " * 300, "max_new_tokens": 256, "temperature": 0.9, "compare_base": True},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["output"]


def test_generate_rejects_out_of_range_sampling_settings(owner_api, owner):
    job = make_job(owner)
    give_tiny_model(job)
    response = owner_api.post(
        url(job, "generate"), {"prompt": "x", "max_new_tokens": 5000, "top_p": 0}, format="json"
    )
    assert response.status_code == 400
    assert {"max_new_tokens", "top_p"} <= set(response.json())


def test_the_openapi_schema_and_docs_are_served(owner_api):
    schema = owner_api.get("/api/v1/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/jobs/{id}/metrics/" in schema.content
    assert owner_api.get("/api/v1/docs/").status_code == 200


def test_a_job_continuing_a_finished_one_is_launched_as_the_estimate_showed(owner_api, owner):
    parent = make_job(owner, name="Parent")
    give_tiny_model(parent)
    request = {"dataset": parent.dataset_id, "base_model": f"job-{parent.pk}", "method": "full"}
    shown = owner_api.post("/api/v1/jobs/estimate/", request, format="json").json()
    response = owner_api.post("/api/v1/jobs/", {**request, "name": "Child"}, format="json")
    assert response.status_code == 201, response.json()
    child = Job.objects.get(pk=response.json()["id"])
    assert child.parent_job == parent
    assert child.hyperparameters == shown["hyperparameters"]
    assert child.estimate["seconds"] == shown["estimate"]["seconds"]
