"""Deleting a dataset or a job removes its files, whichever way it is deleted (the user's
portal or API, an operator in the admin, or a user account deleted with everything it owns)."""

from pathlib import Path

import pytest
from django.conf import settings

from jobs.models import Dataset, Job
from tests.jobs.factories import make_dataset, make_job

pytestmark = pytest.mark.django_db


def _job_with_files(owner, dataset=None):
    job = make_job(owner, dataset=dataset, status=Job.Status.SUCCEEDED)
    folder = job.folder / "final" / "model"
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"weights")
    return job


def _stored(dataset):
    return Path(settings.MEDIA_ROOT) / dataset.file.name


def test_the_api_delete_of_a_job_removes_its_folder(
    owner_api, owner, django_capture_on_commit_callbacks
):
    job = _job_with_files(owner)
    with django_capture_on_commit_callbacks(execute=True):
        assert owner_api.delete(f"/api/v1/jobs/{job.pk}/").status_code == 204
    assert not job.folder.exists()


def test_an_operator_deleting_a_job_in_the_admin_removes_its_folder(
    client, operator, owner, django_capture_on_commit_callbacks
):
    job = _job_with_files(owner)
    client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/jobs/job/{job.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Job.objects.filter(pk=job.pk).exists()
    assert not job.folder.exists()


def test_an_operator_deleting_a_dataset_in_the_admin_removes_its_file(
    client, operator, owner, django_capture_on_commit_callbacks
):
    dataset = make_dataset(owner)
    stored = _stored(dataset)
    assert stored.exists()
    client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/jobs/dataset/{dataset.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Dataset.objects.filter(pk=dataset.pk).exists()
    assert not stored.exists()


def test_deleting_a_user_removes_their_datasets_and_job_folders(
    owner, other_user, django_capture_on_commit_callbacks
):
    dataset = make_dataset(owner)
    job = _job_with_files(owner, dataset=dataset)
    others = make_dataset(other_user)
    with django_capture_on_commit_callbacks(execute=True):
        owner.delete()
    assert not _stored(dataset).exists()
    assert not job.folder.exists()
    assert _stored(others).exists()
