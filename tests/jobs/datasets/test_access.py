"""A user sees, previews, downloads and deletes only their own datasets; deletion rules."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from jobs.datasets.services import dataset_create
from jobs.models import Dataset, Job

pytestmark = pytest.mark.django_db

CONTENT = "\n\n".join(f"Paragraph number {i} of the test file." for i in range(12)) + "\n"


@pytest.fixture
def dataset(owner):
    upload = SimpleUploadedFile("notes.txt", CONTENT.encode())
    return dataset_create(owner=owner, upload=upload, name="Notes")


def signed_in(client, user, password):
    client.login(username=user.username, password=password)
    return client


def make_job(owner, dataset, status):
    return Job.objects.create(owner=owner, name=f"{status} job", dataset=dataset, status=status)


@pytest.mark.parametrize("suffix", ["", "preview/", "download/"])
def test_another_user_gets_404_from_the_api(other_api, dataset, suffix):
    assert other_api.get(f"/api/v1/datasets/{dataset.pk}/{suffix}").status_code == 404


def test_another_user_cannot_delete_through_the_api(other_api, dataset):
    assert other_api.delete(f"/api/v1/datasets/{dataset.pk}/").status_code == 404
    assert Dataset.objects.filter(pk=dataset.pk).exists()


@pytest.mark.parametrize("name", ["dataset-detail", "dataset-download"])
def test_another_user_gets_404_in_the_portal(client, other_user, password, dataset, name):
    response = signed_in(client, other_user, password).get(reverse(name, args=[dataset.pk]))
    assert response.status_code == 404


def test_another_user_cannot_delete_in_the_portal(client, other_user, password, dataset):
    response = signed_in(client, other_user, password).post(
        reverse("dataset-delete", args=[dataset.pk])
    )
    assert response.status_code == 404
    assert Dataset.objects.filter(pk=dataset.pk).exists()


def test_another_users_list_does_not_show_it(client, other_user, password, dataset):
    page = signed_in(client, other_user, password).get(reverse("dataset-list")).content.decode()
    assert "Notes" not in page


def test_signed_out_visitors_are_sent_to_sign_in(client, dataset):
    response = client.get(reverse("dataset-detail", args=[dataset.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_the_owner_downloads_the_file_under_its_original_name(
    client, owner, password, dataset, owner_api
):
    response = signed_in(client, owner, password).get(
        reverse("dataset-download", args=[dataset.pk])
    )
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == CONTENT.encode()
    assert 'filename="notes.txt"' in response["Content-Disposition"]
    api_response = owner_api.get(f"/api/v1/datasets/{dataset.pk}/download/")
    assert b"".join(api_response.streaming_content) == CONTENT.encode()


def test_deleting_removes_the_row_and_the_file(owner_api, dataset):
    path = dataset.file.path
    assert owner_api.delete(f"/api/v1/datasets/{dataset.pk}/").status_code == 204
    assert not Dataset.objects.filter(pk=dataset.pk).exists()
    assert not __import__("os").path.exists(path)


@pytest.mark.parametrize("status", [Job.Status.QUEUED, Job.Status.RUNNING])
def test_deleting_a_dataset_that_an_active_job_uses_is_refused(owner_api, owner, dataset, status):
    make_job(owner, dataset, status)
    response = owner_api.delete(f"/api/v1/datasets/{dataset.pk}/")
    assert response.status_code == 400
    assert "used by a queued or running job" in response.json()["dataset"][0]
    assert dataset.file.storage.exists(dataset.file.name)


def test_the_portal_explains_why_it_cannot_delete(client, owner, password, dataset):
    make_job(owner, dataset, Job.Status.RUNNING)
    client = signed_in(client, owner, password)
    response = client.post(reverse("dataset-delete", args=[dataset.pk]), follow=True)
    assert "used by a queued or running job" in response.content.decode()
    assert Dataset.objects.filter(pk=dataset.pk).exists()


def test_a_dataset_of_a_finished_job_is_deleted_for_the_user_but_kept_for_the_job(
    owner_api, owner, dataset
):
    job = make_job(owner, dataset, Job.Status.SUCCEEDED)
    path = dataset.file.path
    assert owner_api.delete(f"/api/v1/datasets/{dataset.pk}/").status_code == 204
    assert not __import__("os").path.exists(path)
    assert owner_api.get(f"/api/v1/datasets/{dataset.pk}/").status_code == 404
    assert not Dataset.objects.for_user(owner).exists()
    job.refresh_from_db()
    assert job.dataset.name == "Notes"


def test_the_portal_delete_asks_for_confirmation_then_deletes(client, owner, password, dataset):
    client = signed_in(client, owner, password)
    page = client.get(reverse("dataset-detail", args=[dataset.pk])).content.decode()
    assert "Yes, delete it" in page
    response = client.post(reverse("dataset-delete", args=[dataset.pk]), follow=True)
    assert "Deleted the dataset" in response.content.decode()
    assert not Dataset.objects.exists()
