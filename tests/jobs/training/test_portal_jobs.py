"""Portal pages for jobs: dashboard, wizard, job page and its live feed, playground, compare."""

import pytest
from django.urls import reverse

from jobs.models import Checkpoint, Job
from tests.jobs.factories import add_history, give_tiny_model, make_dataset, make_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def other_client(client, other_user):
    client.force_login(other_user)
    return client


def text(response):
    return response.content.decode()


def test_a_new_user_sees_an_empty_state_that_leads_to_the_first_job(owner_client):
    page = text(owner_client.get("/"))
    assert "No jobs yet" in page
    assert reverse("job-new") in page
    assert "Create your first job" in page


def test_the_dashboard_lists_status_progress_model_dataset_duration_and_loss(owner_client, owner):
    make_job(
        owner, name="Sonnets", status=Job.Status.RUNNING, step=5, total_steps=10, train_loss=2.3456
    )
    page = text(owner_client.get("/"))
    assert "Sonnets" in page
    assert 'value="50"' in page  # the progress bar
    assert "Built-in tiny" in page
    assert "Fox lines" in page
    assert "2.3456" in page


def test_the_dashboard_filters_by_status_and_searches_by_name(owner_client, owner):
    dataset = make_dataset(owner)
    make_job(owner, dataset, name="Alpha run", status=Job.Status.RUNNING)
    make_job(owner, dataset, name="Beta run", status=Job.Status.FAILED)
    page = text(owner_client.get("/?status=failed"))
    assert "Beta run" in page and "Alpha run" not in page
    page = text(owner_client.get("/?q=alpha"))
    assert "Alpha run" in page and "Beta run" not in page
    assert "No jobs match" in text(owner_client.get("/?q=zzz"))


def test_the_dashboard_never_shows_another_users_jobs(other_client, owner):
    make_job(owner, name="Private experiment")
    assert "Private experiment" not in text(other_client.get("/"))


@pytest.mark.parametrize(
    "name,method",
    [
        ("job-detail", "get"),
        ("job-live", "get"),
        ("job-playground", "get"),
        ("job-playground", "post"),
        ("job-model", "get"),
        ("job-cancel", "post"),
        ("job-delete", "get"),
        ("job-delete", "post"),
        ("job-update", "post"),
    ],
)
def test_another_users_job_pages_are_not_found(other_client, owner, name, method):
    job = make_job(owner, status=Job.Status.SUCCEEDED)
    response = getattr(other_client, method)(
        reverse(name, args=[job.pk]), {"name": "hijack", "prompt": "x"}
    )
    assert response.status_code == 404
    assert Job.objects.get(pk=job.pk).name == "Fox job"


def test_the_job_page_shows_progress_settings_reasons_log_and_checkpoints(owner_client, owner):
    job = make_job(
        owner,
        status=Job.Status.RUNNING,
        step=3,
        total_steps=12,
        tokens_per_second=1234.0,
        eta_seconds=75,
        hyperparameter_reasons={"learning_rate": "small model: a higher rate is safe"},
        estimate={
            "seconds": 60,
            "peak_memory_bytes": 2**20,
            "cost": 0.001,
            "currency": "USD",
            "basis": "FLOPs estimate",
        },
    )
    add_history(job)
    page = text(owner_client.get(reverse("job-detail", args=[job.pk])))
    assert "3 / 12" in page
    assert "1 min 15 s" in page  # ETA
    assert "small model: a higher rate is safe" in page
    assert "line 2" in page  # log tail
    assert "2.0 KB" in page  # checkpoint size
    assert "Cancel job" in page
    assert "FLOPs estimate" in page
    assert "&lt; 0.01 USD" in page  # 0.001 USD, written as the wizard writes it


@pytest.mark.parametrize(
    "cost,shown",
    [(0.00004, "< 0.01 USD"), (0.0, "0.00 USD"), (0.004, "< 0.01 USD"), (1.5, "1.50 USD")],
)
def test_costs_read_in_cents_and_below_a_cent_as_less_than_one(cost, shown):
    from jobs.templatetags.job_format import money

    assert money(cost) == shown


def test_a_failed_job_says_why_and_offers_clone_and_delete(owner_client, owner):
    job = make_job(
        owner,
        status=Job.Status.FAILED,
        error="Training ran out of memory. Try a smaller batch_size.",
    )
    page = text(owner_client.get(reverse("job-detail", args=[job.pk])))
    assert "Why it failed" in page
    assert "ran out of memory" in page
    assert f"{reverse('job-new')}?from={job.pk}" in page
    assert reverse("job-delete", args=[job.pk]) in page
    assert "Cancel job" not in page


def test_a_finished_job_shows_its_estimate_against_the_actual_figures(owner_client, owner):
    job = make_job(
        owner,
        status=Job.Status.SUCCEEDED,
        estimate={
            "seconds": 120,
            "tokens_per_second": 500,
            "peak_memory_bytes": 2**30,
            "cost": 0.5,
            "currency": "USD",
        },
        actual={
            "seconds": 90,
            "tokens_per_second": 650,
            "peak_memory_bytes": 2**29,
            "cost": 0.25,
            "device": "cpu",
        },
    )
    page = text(owner_client.get(reverse("job-detail", args=[job.pk])))
    assert "Estimate against actual" in page
    assert "2 min 00 s" in page and "1 min 30 s" in page
    assert "1.0 GB" in page and "512.0 MB" in page


def test_the_live_feed_returns_progress_and_only_rows_newer_than_the_cursors(owner_client, owner):
    job = make_job(owner, status=Job.Status.RUNNING, step=4, total_steps=8)
    events, checkpoint = add_history(job, steps=4)
    first = owner_client.get(reverse("job-live", args=[job.pk])).json()
    assert first["job"]["percent"] == 50
    assert [m["step"] for m in first["metrics"]] == [1, 2, 3, 4, 4]
    assert len(first["events"]) == 3 and len(first["checkpoints"]) == 1
    later = owner_client.get(
        reverse("job-live", args=[job.pk]),
        {"after_step": 4, "after_event": events[-1].pk, "after_checkpoint": checkpoint.pk},
    ).json()
    assert later["metrics"] == [] and later["events"] == [] and later["checkpoints"] == []
    job.log("new line")
    newest = owner_client.get(
        reverse("job-live", args=[job.pk]), {"after_step": 4, "after_event": events[-1].pk}
    ).json()
    assert [e["message"] for e in newest["events"]] == ["new line"]


def test_a_poll_for_a_job_id_too_large_for_the_database_is_a_404(owner_client):
    response = owner_client.get(reverse("job-live", args=[10**20]))
    assert response.status_code == 404


def test_a_poll_that_finds_nothing_new_costs_one_query_beyond_the_session(
    owner_client, owner, django_assert_num_queries
):
    job = make_job(owner, status=Job.Status.RUNNING)
    events, checkpoint = add_history(job, steps=50)
    live_url = reverse("job-live", args=[job.pk])
    cursors = {"after_step": 50, "after_event": events[-1].pk, "after_checkpoint": checkpoint.pk}
    with django_assert_num_queries(3):  # session, user, the job with its news flags
        response = owner_client.get(live_url, cursors)
    assert response.json()["metrics"] == [] and response.json()["job"]["status"] == "running"
    with django_assert_num_queries(4):  # plus the new metric points
        response = owner_client.get(live_url, {**cursors, "after_step": 40})
    assert {point["step"] for point in response.json()["metrics"]} == set(range(41, 51))


def test_the_wizard_lists_my_datasets_and_the_catalog_with_figures(owner_client, owner, other_user):
    make_dataset(owner, name="My lines")
    make_dataset(other_user, name="Their lines")
    page = text(owner_client.get(reverse("job-new")))
    assert "My lines" in page and "Their lines" not in page
    assert "Built-in tiny" in page
    assert "parameters" in page and "layers" in page
    assert "Auto-configure" in page
    assert 'data-estimate-url="/api/v1/jobs/estimate/"' in page


def test_the_wizard_launches_a_job_and_opens_its_page(owner_client, owner):
    dataset = make_dataset(owner)
    response = owner_client.post(
        reverse("job-new"),
        {
            "name": "Wizard job",
            "dataset": dataset.pk,
            "base_model": "builtin-tiny",
            "method": "full",
            "learning_rate": "0.002",
        },
    )
    job = Job.objects.get(name="Wizard job")
    assert response.status_code == 302
    assert response["Location"] == reverse("job-detail", args=[job.pk])
    assert job.requested_hyperparameters == {"learning_rate": 0.002}
    assert job.status == Job.Status.QUEUED


def test_the_wizard_names_a_job_left_without_a_name_after_its_model_and_dataset(
    owner_client, owner
):
    dataset = make_dataset(owner)
    page = text(owner_client.get(reverse("job-new")))
    assert "Left blank, the job is named" in page
    response = owner_client.post(
        reverse("job-new"),
        {"name": "", "dataset": dataset.pk, "base_model": "builtin-tiny", "method": "full"},
    )
    job = Job.objects.get()
    assert response.status_code == 302
    assert job.name == f"Built-in tiny (3M, random weights) on {dataset.name}"


def test_the_wizard_shows_errors_next_to_the_fields(owner_client, owner):
    make_dataset(owner)
    response = owner_client.post(
        reverse("job-new"), {"name": "", "base_model": "builtin-tiny", "batch_size": "lots"}
    )
    page = text(response)
    assert response.status_code == 200
    assert not Job.objects.exists()
    assert 'id="error-name" role="alert"></p>' in page  # the name is optional
    assert 'id="error-dataset" role="alert">This field is required.' in page
    assert 'id="error-batch_size" role="alert">Enter a whole number.' in page


def test_clone_opens_the_wizard_with_the_same_settings(owner_client, owner):
    job = make_job(
        owner, method=Job.Method.LORA, requested_hyperparameters={"lora_r": 4, "epochs": 3}
    )
    page = text(owner_client.get(reverse("job-new"), {"from": job.pk}))
    assert 'value="Fox job (copy)"' in page
    assert f'value="{job.dataset_id}" data-examples' in page and "selected>Fox lines" in page
    assert 'value="lora" checked' in page
    assert 'name="lora_r" value="4"' in page
    assert 'name="epochs" value="3' in page


def test_cancel_from_the_job_page(owner_client, owner):
    job = make_job(owner)
    owner_client.post(reverse("job-cancel", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED


def test_delete_asks_first_and_refuses_an_active_job(owner_client, owner):
    running = make_job(owner, status=Job.Status.RUNNING)
    owner_client.post(reverse("job-delete", args=[running.pk]))
    assert Job.objects.filter(pk=running.pk).exists()
    done = make_job(owner, status=Job.Status.SUCCEEDED)
    assert "cannot be undone" in text(owner_client.get(reverse("job-delete", args=[done.pk])))
    response = owner_client.post(reverse("job-delete", args=[done.pk]))
    assert response["Location"] == reverse("dashboard")
    assert not Job.objects.filter(pk=done.pk).exists()


def test_rename_and_notes_from_the_job_page(owner_client, owner):
    job = make_job(owner)
    owner_client.post(
        reverse("job-update", args=[job.pk]), {"name": "Better name", "notes": "baseline"}
    )
    job.refresh_from_db()
    assert (job.name, job.notes) == ("Better name", "baseline")


def test_the_playground_answers_beside_the_base_model_without_javascript(owner_client, owner):
    job = make_job(owner)
    give_tiny_model(job)
    response = owner_client.post(
        reverse("job-playground", args=[job.pk]),
        {
            "prompt": "The quick",
            "max_new_tokens": 5,
            "temperature": 0.7,
            "top_p": 0.9,
            "compare_base": "on",
        },
    )
    page = text(response)
    assert "Answered in" in page
    assert "random weights" in page


def test_the_model_downloads_from_the_portal(owner_client, owner):
    job = make_job(owner)
    give_tiny_model(job)
    response = owner_client.get(reverse("job-model", args=[job.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"


def test_compare_overlays_curves_and_marks_differing_settings(owner_client, owner):
    dataset = make_dataset(owner)
    a = make_job(
        owner,
        dataset,
        name="lr small",
        status=Job.Status.SUCCEEDED,
        hyperparameters={"learning_rate": 0.0001, "epochs": 1},
        train_loss=3.0,
    )
    b = make_job(
        owner,
        dataset,
        name="lr big",
        status=Job.Status.SUCCEEDED,
        hyperparameters={"learning_rate": 0.01, "epochs": 1},
        train_loss=2.5,
    )
    add_history(a)
    add_history(b)
    page = text(owner_client.get(reverse("job-compare"), {"ids": [a.pk, b.pk]}))
    assert 'id="compare-series"' in page
    assert '<tr class="differs"><th scope="row">learning_rate</th>' in page
    assert '<tr><th scope="row">epochs</th>' in page
    assert "3.0000" in page and "2.5000" in page


def test_compare_ignores_other_users_jobs(owner_client, owner, other_user):
    mine = make_job(owner, name="mine")
    theirs = make_job(other_user, name="their secret")
    page = text(owner_client.get(reverse("job-compare"), {"ids": [mine.pk, theirs.pk]}))
    assert "their secret" not in page
    assert "Pick at least two jobs" in page


def test_the_best_badge_goes_to_the_checkpoint_with_the_lowest_eval_loss_final_model_included(
    owner_client, owner
):
    job = make_job(owner, make_dataset(owner), status=Job.Status.SUCCEEDED)
    Checkpoint.objects.create(job=job, step=4, path="a", size_bytes=1, eval_loss=3.0)
    Checkpoint.objects.create(job=job, step=8, path="b", size_bytes=1, eval_loss=2.5)
    final = Checkpoint.objects.create(
        job=job, step=9, path="c", size_bytes=1, eval_loss=2.9, is_final=True
    )
    page = owner_client.get(f"/jobs/{job.pk}/").content.decode()
    assert page.count('class="badge best"') == 1
    assert '<tr class="best-checkpoint"><td>8</td>' in page

    final.eval_loss = 2.0  # the last weights beat every kept checkpoint: none is "best"
    final.save(update_fields=["eval_loss"])
    page = owner_client.get(f"/jobs/{job.pk}/").content.decode()
    assert 'class="badge best"' not in page
