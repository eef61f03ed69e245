"""Estimates of time, memory and cost: the FLOPs figure before any history, the calibration by
finished jobs, memory against the worker's device, cost from the configured price."""

import pytest
import torch
from django.utils import timezone

from jobs.models import BaseModel, Dataset, Job
from jobs.planning.autoconfig import resolve
from jobs.planning.estimates import estimate_job

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _worker(settings):
    settings.WORKER_KIND = "cpu"
    settings.WORKER_DEVICE_MEMORY_MB = 16 * 1024
    settings.WORKER_PRICES_PER_HOUR = {"cpu": 0.36, "cuda": 3.60}


def model(key):
    return BaseModel.objects.get(key=key)


def text_data(owner, examples=2000, length=40):
    return Dataset.objects.create(
        owner=owner,
        name="text",
        original_filename="t.txt",
        format="txt",
        kind="text",
        status=Dataset.Status.VALID,
        num_examples=examples,
        total_tokens=examples * length,
        stats={"histogram": [{"start": length - 5, "end": length + 4, "count": examples}]},
    )


def estimate(dataset, key="builtin-tiny", method="full", **requested):
    base = model(key)
    resolved = resolve(dataset=dataset, base_model=base, method=method, requested=requested)
    result = estimate_job(
        base_model=base,
        method=method,
        hyperparameters=resolved["hyperparameters"],
        total_steps=resolved["total_steps"],
        total_tokens=resolved["total_tokens"],
        plan=resolved["plan"],
    )
    return resolved, result


def finished(
    owner, dataset, resolved, first, key="builtin-tiny", method="full", setup=20, **actual
):
    """A job that ran before, as the worker leaves it: data the next estimate learns from."""
    end = timezone.now()
    return Job.objects.create(
        started_at=end - timezone.timedelta(seconds=actual["seconds"] + setup),
        owner=owner,
        name="earlier",
        dataset=dataset,
        base_model=model(key),
        method=method,
        hyperparameters=resolved["hyperparameters"],
        total_steps=resolved["total_steps"],
        estimate=first,
        status=Job.Status.SUCCEEDED,
        finished_at=end,
        actual={
            "device": "cpu",
            "device_kind": "cpu",
            "total_tokens": resolved["total_tokens"],
            "total_steps": resolved["total_steps"],
            **actual,
        },
    )


def test_before_any_history_it_is_a_flops_estimate_that_grows_with_the_model(owner):
    dataset = text_data(owner)
    fixed = {"max_seq_length": 128, "batch_size": 8, "epochs": 1}
    tiny = estimate(dataset, "builtin-tiny", **fixed)[1]
    small = estimate(dataset, "builtin-small", **fixed)[1]
    large = estimate(dataset, "builtin-gpt2-124m", **fixed)[1]
    assert tiny["basis"] == small["basis"] == "FLOPs estimate"
    assert tiny["seconds"] < small["seconds"] < large["seconds"]
    assert tiny["peak_memory_bytes"] < small["peak_memory_bytes"] < large["peak_memory_bytes"]
    assert tiny["tokens_per_second"] == pytest.approx(
        tiny["total_tokens"] / tiny["seconds"], rel=0.01
    )


def test_more_data_takes_proportionally_longer(owner):
    fixed = {"max_seq_length": 128, "batch_size": 8, "epochs": 1, "eval_steps": 0, "save_steps": 0}
    short = estimate(text_data(owner, examples=1000), **fixed)[1]
    long = estimate(text_data(owner, examples=4000), **fixed)[1]
    assert long["seconds"] == pytest.approx(4 * short["seconds"], rel=0.05)


def test_cost_is_the_time_at_the_configured_price_of_the_worker_kind(owner, settings):
    result = estimate(text_data(owner))[1]
    assert result["cost"] == pytest.approx(result["seconds"] / 3600 * 0.36, rel=0.01)
    assert result["currency"] == "USD" and result["device_kind"] == "cpu"
    settings.WORKER_PRICES_PER_HOUR = {"cpu": 0.0}
    assert estimate(text_data(owner))[1]["cost"] == 0


def test_a_finished_job_calibrates_the_next_estimate_of_the_same_model(owner):
    dataset = text_data(owner)
    resolved, first = estimate(dataset)
    assert first["basis"] == "FLOPs estimate"
    finished(
        owner,
        dataset,
        resolved,
        first,
        seconds=first["seconds"] * 3,
        peak_memory_bytes=int(first["peak_memory_bytes"] * 1.5),
    )
    _, second = estimate(dataset)
    assert second["basis"] == "calibrated from 1 finished job of this model and method"
    assert second["seconds"] == pytest.approx(3 * first["seconds"], rel=0.01)
    assert second["peak_memory_bytes"] == pytest.approx(1.5 * first["peak_memory_bytes"], rel=0.01)
    assert second["tokens_per_second"] == pytest.approx(first["tokens_per_second"] / 3, rel=0.01)
    # The time outside the loop (loading, export, samples) is learnt too.
    assert second["wall_seconds"] == pytest.approx(second["seconds"] + 20, abs=0.2)


def test_calibration_carries_over_to_other_sizes_of_the_same_job(owner):
    small_data, large_data = text_data(owner, examples=500), text_data(owner, examples=5000)
    _, large_before = estimate(large_data)
    resolved, first = estimate(small_data)
    finished(owner, small_data, resolved, first, seconds=first["seconds"] * 2)
    _, large_after = estimate(large_data)
    assert large_after["basis"].startswith("calibrated from 1 finished job")
    assert large_after["seconds"] == pytest.approx(2 * large_before["seconds"], rel=0.01)


def test_history_at_a_very_different_sequence_length_does_not_calibrate(owner):
    dataset = text_data(owner, length=400)
    resolved, first = estimate(dataset, max_seq_length=16)
    finished(owner, dataset, resolved, first, seconds=first["seconds"] * 3)
    long_rows = estimate(dataset, max_seq_length=256)[1]
    assert long_rows["basis"] == "FLOPs estimate"
    assert estimate(dataset, max_seq_length=16)[1]["basis"].startswith("calibrated from 1")
    assert estimate(dataset, max_seq_length=32)[1]["basis"].startswith("calibrated from 1")


def test_only_succeeded_jobs_on_this_kind_of_worker_count(owner):
    dataset = text_data(owner)
    resolved, first = estimate(dataset)
    failed = finished(owner, dataset, resolved, first, seconds=first["seconds"] * 5)
    failed.status = Job.Status.FAILED
    failed.save(update_fields=["status"])
    gpu = finished(owner, dataset, resolved, first, seconds=first["seconds"] * 5)
    gpu.actual = {**gpu.actual, "device_kind": "h100"}
    gpu.save(update_fields=["actual"])
    assert estimate(dataset)[1]["basis"] == "FLOPs estimate"


def test_history_of_another_model_is_used_scaled_by_flops(owner):
    dataset = text_data(owner)
    resolved, first = estimate(dataset, "builtin-small")
    finished(owner, dataset, resolved, first, key="builtin-small", seconds=first["seconds"] * 2)
    _, tiny = estimate(dataset, "builtin-tiny")
    assert tiny["basis"].startswith("calibrated from 1 finished job of other models on cpu workers")
    assert tiny["time_factor"] == pytest.approx(2, rel=0.01)


def test_lora_needs_less_memory_than_full_fine_tuning_and_batches_add_memory(owner):
    dataset = text_data(owner)
    fixed = {"max_seq_length": 256, "batch_size": 4}
    full = estimate(dataset, "gpt2", **fixed)[1]
    lora = estimate(dataset, "gpt2", "lora", **fixed)[1]
    bigger = estimate(dataset, "gpt2", **{**fixed, "batch_size": 8})[1]
    assert lora["peak_memory_bytes"] < full["peak_memory_bytes"] < bigger["peak_memory_bytes"]
    assert lora["seconds"] < full["seconds"]


def test_memory_is_compared_with_the_workers_device(owner, settings):
    dataset = text_data(owner)
    base = model("gpt2")
    resolved = resolve(dataset=dataset, base_model=base, method="full", requested={"batch_size": 2})
    settings.WORKER_DEVICE_MEMORY_MB = 2 * 1024
    small_worker = estimate_job(
        base_model=base,
        method="full",
        hyperparameters=resolved["hyperparameters"],
        total_steps=resolved["total_steps"],
        total_tokens=resolved["total_tokens"],
    )
    assert small_worker["fits"] is False
    assert small_worker["device_memory_bytes"] == 2 * 1024**3


def test_a_cuda_estimate_uses_the_configured_gpu_and_never_initialises_cuda(owner, settings):
    settings.WORKER_KIND = "h100"
    settings.WORKER_DEVICE_MEMORY_MB = 0
    resolved, result = estimate(text_data(owner), "gpt2")
    assert resolved["hyperparameters"]["precision"] == "bf16"
    assert result["device_memory_bytes"] == 80e9 and result["fits"] is True
    assert result["cost"] == pytest.approx(result["seconds"] / 3600 * 3.60, rel=0.01)
    assert not torch.cuda.is_initialized()


def test_a_cpu_estimate_knows_the_chunked_head_and_counts_a_few_bytes_a_data_token(
    owner, monkeypatch
):
    monkeypatch.setenv("CPU_BF16", "0")
    _, small = estimate(text_data(owner, examples=2000))
    _, large = estimate(text_data(owner, examples=2_500_000))  # 100M tokens, as 500 MB of text
    assert small["engine"]["fused_loss"] is True and small["engine"]["compile"] is False
    # Compact token arrays: 100M tokens add well under a gigabyte (Python lists: 10 GB).
    assert large["peak_memory_bytes"] - small["peak_memory_bytes"] < 0.5e9
    assert small["engine"]["precision"] == "fp32"


def test_a_cpu_with_bf16_instructions_is_estimated_faster_in_bf16(owner, monkeypatch):
    monkeypatch.setenv("CPU_BF16", "1")
    _, auto = estimate(text_data(owner, examples=2000))
    _, fp32 = estimate(text_data(owner, examples=2000), precision="fp32")
    assert auto["engine"] == {**fp32["engine"], "precision": "bf16"}
    assert auto["engine"]["fused_loss"] is True
    assert auto["breakdown"]["training"] < fp32["breakdown"]["training"] / 1.2
