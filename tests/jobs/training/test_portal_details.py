"""The small things a first walk through the portal found (issue 14, item 9), each as a user
meets it: the landing page, the favicon, API docs, wrapping names, confirmations, the dataset
page's train button and deletion warning, the estimate's wall time, a cancelled job's table,
samples, the token copy button, "set by you", and a clone whose dataset was deleted."""

import pytest
from django.urls import reverse

from jobs.datasets.services import dataset_delete
from jobs.models import Job
from tests.jobs.factories import make_dataset, make_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def text(response):
    return response.content.decode()


def test_a_visitor_gets_a_landing_page_that_leads_to_sign_up_and_sign_in(client):
    response = client.get("/")
    assert response.status_code == 200
    page = text(response)
    assert "Fine-tune GPT-2 models without writing code" in page
    assert reverse("signup") in page and reverse("login") in page


def test_every_page_has_a_favicon_and_browsers_asking_for_favicon_ico_get_it(client, owner):
    assert 'rel="icon"' in text(client.get("/"))
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("favicon.svg")


def test_the_portal_links_to_the_api_docs(owner_client):
    assert 'href="/api/v1/docs/"' in text(owner_client.get("/"))


def test_long_names_are_marked_to_wrap(owner_client, owner):
    make_job(owner, name="x" * 150)
    page = text(owner_client.get("/"))
    assert 'data-label="Name" class="long-name"' in page


def test_cancelling_asks_for_confirmation(owner_client, owner):
    job = make_job(owner, status=Job.Status.RUNNING)
    page = text(owner_client.get(f"/jobs/{job.pk}/"))
    assert 'id="cancel-form" data-confirm="Cancel' in page


def test_a_valid_dataset_offers_to_train_on_it(owner_client, owner):
    dataset = make_dataset(owner)
    page = text(owner_client.get(f"/datasets/{dataset.pk}/"))
    assert f'href="/jobs/new/?dataset={dataset.pk}"' in page and "Train on this dataset" in page


def test_deleting_a_dataset_that_jobs_used_warns_first(owner_client, owner):
    dataset = make_dataset(owner)
    make_job(owner, dataset, name="Old run", status=Job.Status.SUCCEEDED)
    page = text(owner_client.get(f"/datasets/{dataset.pk}/"))
    assert 'id="dataset-used-warning"' in page and "1 job trained on it" in page
    assert "Old run" in page
    fresh = make_dataset(owner, name="unused")
    assert "dataset-used-warning" not in text(owner_client.get(f"/datasets/{fresh.pk}/"))


def test_the_estimate_shows_the_wall_time_beside_the_training_time(owner_client, owner):
    job = make_job(
        owner,
        estimate={"seconds": 60, "wall_seconds": 130, "cost": 0.01, "currency": "USD"},
    )
    page = text(owner_client.get(f"/jobs/{job.pk}/"))
    assert "Wall time (with loading, tokenising, export)" in page and "2 min 10 s" in page
    assert "Wall time" in text(owner_client.get("/jobs/new/"))


def test_a_cancelled_job_s_table_says_at_which_step(owner_client, owner):
    job = make_job(
        owner,
        status=Job.Status.CANCELLED,
        step=4,
        total_steps=10,
        estimate={"seconds": 60, "wall_seconds": 70},
        actual={"seconds": 20, "total_steps": 4},
    )
    page = text(owner_client.get(f"/jobs/{job.pk}/"))
    assert "cancelled at step 4" in page
    assert "Cancelled at step 4 of 10" in page


def test_samples_keep_their_newlines_and_an_empty_one_says_so(owner_client, owner):
    samples = [{"prompt": "line one\nline two", "output": "  "}]
    job = make_job(owner, status=Job.Status.SUCCEEDED, samples=samples)
    page = text(owner_client.get(f"/jobs/{job.pk}/"))
    assert '<pre class="prompt">line one\nline two</pre>' in page
    assert "(empty output)" in page


def test_a_new_token_has_a_copy_button(owner_client):
    response = owner_client.post(reverse("token-create"), {"name": "script"}, follow=True)
    page = text(response)
    assert 'data-copy-target="new-token-key"' in page


def test_a_value_you_set_reads_set_by_you_once(owner_client, owner):
    job = make_job(
        owner,
        requested_hyperparameters={"epochs": 2},
        hyperparameters={"epochs": 2},
        hyperparameter_reasons={"epochs": "set by you"},
    )
    page = text(owner_client.get(f"/jobs/{job.pk}/"))
    assert page.count("set by you") == 1 and "your choice" not in page


def test_a_clone_whose_dataset_was_deleted_says_so(owner_client, owner):
    dataset = make_dataset(owner, name="Gone data")
    job = make_job(owner, dataset, status=Job.Status.SUCCEEDED)
    dataset_delete(dataset=dataset)
    page = text(owner_client.get(f"/jobs/new/?from={job.pk}"))
    assert "“Gone data” that job" in page and "has been deleted" in page


def test_the_wizard_s_txt_help_says_blank_lines_separate_examples(owner_client):
    assert "examples separated by blank lines" in text(owner_client.get("/jobs/new/"))
