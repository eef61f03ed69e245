"""Quotas: queued and running jobs per user at launch, and storage that counts datasets,
checkpoints, models and zips."""

import pytest
from django.conf import settings as django_settings

from jobs.models import Checkpoint, Dataset, Job
from jobs.quotas.services import MB
from tests.jobs.factories import make_dataset, make_job

pytestmark = pytest.mark.django_db


def launch(api, dataset):
    return api.post(
        "/api/v1/jobs/",
        {"name": "more", "dataset": dataset.pk, "base_model": "builtin-tiny"},
        format="json",
    )


def test_a_launch_over_the_queued_limit_is_refused_naming_it(owner, owner_api, settings):
    settings.USER_MAX_QUEUED_JOBS = 2
    dataset = make_dataset(owner)
    make_job(owner, dataset, status=Job.Status.QUEUED)
    assert launch(owner_api, dataset).status_code == 201
    response = launch(owner_api, dataset)
    assert response.status_code == 400
    assert "USER_MAX_QUEUED_JOBS=2" in response.json()["quota"][0]
    assert Job.objects.filter(owner=owner).count() == 2


def test_a_launch_over_the_running_limit_is_refused_but_others_may_launch(
    owner, other_user, owner_api, other_api, settings
):
    settings.USER_MAX_RUNNING_JOBS = 1
    make_job(owner, status=Job.Status.RUNNING)
    response = launch(owner_api, make_dataset(owner))
    assert response.status_code == 400
    assert "USER_MAX_RUNNING_JOBS=1" in response.json()["quota"][0]
    assert launch(other_api, make_dataset(other_user)).status_code == 201


def test_the_portal_wizard_shows_the_queued_limit(client, owner, password, settings):
    settings.USER_MAX_QUEUED_JOBS = 1
    dataset = make_dataset(owner)
    make_job(owner, dataset, status=Job.Status.QUEUED)
    client.login(username="ada", password=password)
    response = client.post(
        "/jobs/new/",
        {"name": "x", "dataset": dataset.pk, "base_model": "builtin-tiny", "method": "full"},
    )
    assert "USER_MAX_QUEUED_JOBS=1" in response.content.decode()


def test_checkpoints_models_and_zips_count_against_the_storage_quota(owner, owner_api, settings):
    job = make_job(owner, status=Job.Status.SUCCEEDED)
    Checkpoint.objects.create(job=job, step=5, path="x", size_bytes=2 * MB)
    Checkpoint.objects.create(job=job, step=10, path="y", size_bytes=3 * MB, is_final=True)
    job.folder.mkdir(parents=True)
    (job.folder / "model.zip").write_bytes(b"z" * MB)
    settings.USER_STORAGE_QUOTA_MB = 6  # the dataset's few KB fit; 6 MB of model files do not
    response = owner_api.post(
        "/api/v1/datasets/",
        {"file": _file("more.txt", 200_000)},
        format="multipart",
    )
    assert response.status_code == 400
    message = response.json()["file"][0]
    assert "storage quota" in message and "6 MB" in message
    assert Dataset.objects.filter(owner=owner).count() == 1


def test_the_profile_page_shows_storage_used_against_the_quota(client, owner, password, settings):
    settings.USER_STORAGE_QUOTA_MB = 100
    job = make_job(owner, status=Job.Status.SUCCEEDED)
    Checkpoint.objects.create(job=job, step=10, path="y", size_bytes=40 * MB, is_final=True)
    client.login(username="ada", password=password)
    page = client.get("/accounts/profile/").content.decode()
    assert "40.0\xa0MB of 100.0\xa0MB used (40%)" in page
    assert "Models: 40.0\xa0MB" in page


def test_the_sample_button_with_the_quota_nearly_full_says_so(client, owner, password, settings):
    job = make_job(owner, status=Job.Status.SUCCEEDED)
    quota = django_settings.USER_STORAGE_QUOTA_MB
    Checkpoint.objects.create(job=job, step=1, path="y", size_bytes=(quota - 0.5) * MB)
    client.login(username="ada", password=password)
    response = client.post("/datasets/sample/", follow=True)
    assert response.status_code == 200
    assert "does not fit in your storage quota" in response.content.decode()
    assert not Dataset.objects.filter(owner=owner, name__contains="sample").exists()


def _file(name, size):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, b"some words here\n\n" * (size // 17))


def test_a_checkpoint_saved_as_a_model_for_a_viewer_counts_against_the_owner(
    owner, client, django_user_model
):
    """A kept checkpoint saved as a model (where a team viewer's download builds it: the
    owner's job folder) counts against the owner's quota, not the viewer's."""
    from jobs.quotas.services import storage_usage
    from tests.jobs.factories import give_tiny_model
    from tests.teams_fixtures import make_team, make_user

    vic = make_user(django_user_model, "vic")
    team = make_team(owner, name="Lab", viewer=vic)
    job = make_job(owner, team=team, status=Job.Status.SUCCEEDED)
    give_tiny_model(job)
    before = storage_usage(owner)
    checkpoint = Checkpoint.objects.create(job=job, step=5, path="x", size_bytes=0)
    folder = job.checkpoint_model_dir(checkpoint.step) / "model"
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"w" * 123_456)
    after = storage_usage(owner)
    assert after["checkpoint_models"] == 123_456
    assert after["total"] - before["total"] == 123_456
    assert storage_usage(vic)["total"] == 0
