"""A succeeded job's model in every format: the zip, GGUF f16 and q8_0 and the Ollama Modelfile,
from the API and the portal, and a model card that says how to run each (real LoRA job on the
built-in tiny model, sync queue)."""

import io
import zipfile

import gguf
import pytest
from django.urls import reverse

from jobs.models import Job
from tests.jobs.factories import make_job
from tests.jobs.training.runs import launch, make_dataset


@pytest.fixture
def lora_job(owner, settings, django_capture_on_commit_callbacks):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    with django_capture_on_commit_callbacks(execute=True):
        job = launch(owner, make_dataset(owner), method="lora")
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    return job


def body(response):
    return b"".join(response.streaming_content)


@pytest.mark.django_db
def test_a_job_downloads_as_gguf_and_modelfile_and_its_card_says_how_to_run_them(
    lora_job, owner_api, other_api, client, owner, tmp_path
):
    url = f"/api/v1/jobs/{lora_job.pk}/model/"
    response = owner_api.get(url, {"format": "gguf", "quant": "q8_0"})
    assert response.status_code == 200
    name = f"llm-tuner-job-{lora_job.pk}-q8_0.gguf"
    assert name in response["Content-Disposition"]
    (tmp_path / name).write_bytes(body(response))
    reader = gguf.GGUFReader(tmp_path / name)
    assert reader.fields["general.architecture"].contents() == "gpt2"

    f16 = owner_api.get(url, {"format": "gguf", "quant": "f16"})
    assert f16.status_code == 200 and body(f16)[:4] == b"GGUF"
    modelfile = body(owner_api.get(url, {"format": "modelfile"})).decode()
    assert modelfile.startswith(f"FROM ./{name}\n")

    # The zip holds the Hugging Face folders; the GGUF files are downloads of their own.
    names = zipfile.ZipFile(io.BytesIO(body(owner_api.get(url)))).namelist()
    assert "model/config.json" in names and "adapter/adapter_config.json" in names
    assert not any(n.startswith("gguf/") for n in names)
    card = zipfile.ZipFile(io.BytesIO(body(owner_api.get(url)))).read("model/README.md").decode()
    for text in ("GGUF q8_0", "GGUF f16", "llama-cli -m " + name, "ollama create", "transformers"):
        assert text in card

    bad = owner_api.get(url, {"format": "gguf", "quant": "q4_k"})
    assert bad.status_code == 400 and "quant" in bad.json()
    assert owner_api.get(url, {"format": "onnx"}).status_code == 400
    assert other_api.get(url, {"format": "gguf"}).status_code == 404

    client.force_login(owner)
    page = client.get(reverse("job-detail", args=[lora_job.pk])).content.decode()
    assert "?format=gguf&amp;quant=q8_0" in page and "Ollama Modelfile" in page
    portal = client.get(reverse("job-model", args=[lora_job.pk]), {"format": "gguf"})
    assert portal.status_code == 200 and name in portal["Content-Disposition"]


@pytest.mark.django_db
def test_a_job_without_a_model_has_no_gguf_to_download(owner, owner_api):
    job = make_job(owner, status=Job.Status.RUNNING)
    response = owner_api.get(f"/api/v1/jobs/{job.pk}/model/", {"format": "gguf"})
    assert response.status_code == 409
    assert "running" in response.json()["detail"]
