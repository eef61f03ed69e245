"""Kept checkpoints as models: downloaded from the portal and the API as a loadable zip, and
used as the base model of a new job (key job-<id>-step-<step>), on the real queue and engine."""

import io
import zipfile

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer

from jobs.models import Checkpoint, Job
from tests.jobs.training.runs import launch, make_dataset

HP = {
    "epochs": 2,
    "batch_size": 4,
    "max_seq_length": 32,
    "learning_rate": 3e-3,
    "eval_steps": 2,
    "save_steps": 2,
    "warmup_ratio": 0.0,
    "exported_model": "last",
}


@pytest.fixture
def trained(owner, sync_queue, django_capture_on_commit_callbacks):  # noqa: F811
    with django_capture_on_commit_callbacks(execute=True):
        job = launch(owner, make_dataset(owner), hyperparameters=HP)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    return job


def kept_step(job):
    return Checkpoint.objects.filter(job=job, is_final=False).order_by("step").first().step


def unzip(content, tmp_path):
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        archive.extractall(tmp_path)
    return tmp_path / "model"


@pytest.mark.django_db
def test_a_checkpoint_downloads_from_the_api_as_a_model_that_loads(trained, owner_api, tmp_path):
    step = kept_step(trained)
    response = owner_api.get(f"/api/v1/jobs/{trained.pk}/checkpoints/{step}/model/")
    assert response.status_code == 200
    assert f"step-{step}" in response["Content-Disposition"]
    folder = unzip(b"".join(response.streaming_content), tmp_path)
    model = AutoModelForCausalLM.from_pretrained(folder)
    assert model.config.n_layer > 0
    assert f"checkpoint at step {step}" in (folder / "README.md").read_text()
    assert AutoTokenizer.from_pretrained(folder)("hello")["input_ids"]


@pytest.mark.django_db
def test_an_unknown_checkpoint_is_a_404_naming_the_kept_steps(trained, owner_api):
    step = kept_step(trained)
    response = owner_api.get(f"/api/v1/jobs/{trained.pk}/checkpoints/999/model/")
    assert response.status_code == 404
    assert f"kept steps: {step}" in response.json()["detail"]


@pytest.mark.django_db
def test_another_user_s_checkpoint_is_a_404(trained, other_api, client, other_user):
    step = kept_step(trained)
    url = f"/api/v1/jobs/{trained.pk}/checkpoints/{step}/model/"
    assert other_api.get(url).status_code == 404
    client.force_login(other_user)
    assert client.get(f"/jobs/{trained.pk}/checkpoints/{step}/model/").status_code == 404


@pytest.mark.django_db
def test_the_job_page_offers_each_checkpoint_to_download_and_train_from(trained, client, owner):
    step = kept_step(trained)
    client.force_login(owner)
    page = client.get(f"/jobs/{trained.pk}/").content.decode()
    assert f"/jobs/{trained.pk}/checkpoints/{step}/model/" in page
    assert f"?base_model=job-{trained.pk}-step-{step}" in page
    download = client.get(f"/jobs/{trained.pk}/checkpoints/{step}/model/")
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    wizard = client.get(f"/jobs/new/?base_model=job-{trained.pk}-step-{step}").content.decode()
    assert f"checkpoint at step {step}" in wizard
    assert f'value="job-{trained.pk}-step-{step}" checked' in wizard


@pytest.mark.django_db
def test_a_new_job_trains_from_a_checkpoint(trained, owner, django_capture_on_commit_callbacks):
    step = kept_step(trained)
    with django_capture_on_commit_callbacks(execute=True):
        child = launch(
            owner,
            trained.dataset,
            base_model_key=f"job-{trained.pk}-step-{step}",
            hyperparameters={**HP, "epochs": 1},
        )
    child.refresh_from_db()
    assert child.status == Job.Status.SUCCEEDED, child.error
    assert child.parent_job == trained and child.parent_checkpoint_step == step
    assert f"its checkpoint at step {step}" in (child.model_folder / "README.md").read_text()


@pytest.mark.django_db
def test_a_missing_checkpoint_or_a_running_job_cannot_be_a_base_model(trained, owner, owner_api):
    body = {"name": "x", "dataset": trained.dataset_id, "base_model": f"job-{trained.pk}-step-999"}
    response = owner_api.post("/api/v1/jobs/", body, format="json")
    assert response.status_code == 400
    assert "keeps no checkpoint at step 999" in str(response.json())
    Job.objects.filter(pk=trained.pk).update(status=Job.Status.RUNNING)
    body["base_model"] = f"job-{trained.pk}-step-{kept_step(trained)}"
    response = owner_api.post("/api/v1/jobs/", body, format="json")
    assert response.status_code == 400 and "once it has stopped" in str(response.json())
