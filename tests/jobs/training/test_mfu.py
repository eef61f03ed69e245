"""Model FLOPs utilisation: the formula with known numbers, the table of peaks by device name,
and how the job page shows it."""

import pytest
from django.urls import reverse

from jobs.catalog.services import gpt2_parameters
from jobs.engine.constants import flops_per_token, padded_vocab_size, peak_bf16_flops
from jobs.engine.device import model_flops_utilisation
from jobs.models import Job
from tests.jobs.factories import make_job

# GPT-2 124M with its vocabulary padded to 50,304: nanoGPT prints 123.69M parameters without
# the position embeddings, and 6 · N + 12 · L · H · T FLOPs per token at T = 1024.
GPT2_124M = {"n_layer": 12, "n_embd": 768, "n_positions": 1024}
GPT2_FLOPS_PER_TOKEN = 6 * 123_689_472 + 12 * 12 * 768 * 1024


def test_flops_per_token_of_gpt2_124m_match_nanogpts_estimate():
    parameters = gpt2_parameters(**GPT2_124M, vocab_size=padded_vocab_size(50257))
    per_token = flops_per_token(
        parameters=parameters,
        position_parameters=1024 * 768,
        n_layer=12,
        n_embd=768,
        seq=1024,
    )
    assert padded_vocab_size(50257) == 50304
    assert parameters - 1024 * 768 == 123_689_472
    assert per_token == GPT2_FLOPS_PER_TOKEN == 855_383_040


@pytest.mark.parametrize(
    "name, peak",
    [
        ("NVIDIA H100 80GB HBM3", 989e12),
        ("NVIDIA H100 PCIe", 756e12),
        ("NVIDIA H200", 989e12),
        ("NVIDIA A100-SXM4-80GB", 312e12),
        ("NVIDIA A100 80GB PCIe", 312e12),
        ("NVIDIA L40S", 362e12),
        ("NVIDIA L4", 121e12),
        ("NVIDIA A10G", 125e12),
        ("NVIDIA GeForce RTX 4090", 165e12),
        ("NVIDIA L40", None),  # not the L4, not the L40S: no figure rather than a wrong one
        ("cpu", None),
    ],
)
def test_the_peak_is_looked_up_by_the_cuda_device_name(name, peak):
    assert peak_bf16_flops(name) == peak


def test_350k_tokens_per_second_of_gpt2_on_an_h100_is_about_30_percent_mfu():
    mfu = model_flops_utilisation(350_000, GPT2_FLOPS_PER_TOKEN, "NVIDIA H100 80GB HBM3")
    assert mfu == pytest.approx(350_000 * 855_383_040 / 989e12)
    assert round(mfu, 3) == 0.303
    assert model_flops_utilisation(350_000, GPT2_FLOPS_PER_TOKEN, "cpu") is None


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def finished_job(owner, actual):
    return make_job(
        owner,
        status=Job.Status.SUCCEEDED,
        estimate={"seconds": 60},
        actual={"seconds": 50, **actual},
    )


@pytest.mark.django_db
def test_the_job_page_shows_the_mfu_measured_on_a_gpu(owner_client, owner):
    job = finished_job(owner, {"device": "NVIDIA H100 80GB HBM3", "mfu": 0.3127})
    page = owner_client.get(reverse("job-detail", args=[job.pk])).content.decode()
    assert ">MFU<" in page and ">31%<" in page


@pytest.mark.django_db
def test_the_job_page_says_mfu_does_not_apply_on_a_cpu(owner_client, owner):
    job = finished_job(owner, {"device": "cpu", "mfu": None})
    page = owner_client.get(reverse("job-detail", args=[job.pk])).content.decode()
    assert "n/a on CPU" in page
