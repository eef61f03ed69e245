"""Auto-configuration's rules: every value with a reason, on small and large data and models."""

import math

import pytest

from jobs.planning.hyperparameters import HYPERPARAMETERS
from tests.jobs.planning.builders import configure, data

pytestmark = pytest.mark.django_db


# --- Every value, with a reason -------------------------------------------------------------


def test_every_hyperparameter_is_resolved_with_a_one_line_reason(owner):
    result = configure(data(owner, bins=[(0, 49, 300)]), method="lora")
    assert list(result["hyperparameters"]) == HYPERPARAMETERS
    for name in HYPERPARAMETERS:
        reason = result["reasons"][name]
        assert result["hyperparameters"][name] is not None
        assert reason and "\n" not in reason and len(reason) < 120, name
    assert result["fixed"] == []
    assert result["total_steps"] > 0 and result["total_tokens"] > 0


def test_max_length_is_the_smallest_power_of_two_that_99_percent_of_examples_fit(owner):
    # 992.7 of 1,000 examples are at most 32 tokens; only 430 are at most 16.
    dataset = data(owner, bins=[(0, 9, 10), (10, 19, 600), (20, 29, 380), (30, 39, 9), (40, 49, 1)])
    result = configure(dataset)
    assert result["hyperparameters"]["max_seq_length"] == 32
    assert (
        result["reasons"]["max_seq_length"]
        == "max length 32: 99.3% of examples fit (longest example 49 tokens, end-of-text included)"
    )


def test_max_length_stops_at_the_models_context_and_says_how_many_are_cut(owner):
    dataset = data(owner, bins=[(0, 199, 90), (200, 399, 10)])  # builtin-tiny's context is 256
    result = configure(dataset)
    assert result["hyperparameters"]["max_seq_length"] == 256
    assert (
        result["reasons"]["max_seq_length"]
        == "max length 256: the model's context; 7% of examples are cut"
    )


def test_a_small_dataset_gets_more_passes_and_a_large_one_a_single_pass(owner):
    small = configure(data(owner, bins=[(0, 49, 20)]))  # 18 train rows after the 10% holdout
    assert small["hyperparameters"]["epochs"] == 6
    assert small["reasons"]["epochs"] == "6 epochs: 18 examples × 6 passes stays within 100–25,000"
    large = configure(data(owner, bins=[(0, 49, 50_000)]))
    assert large["hyperparameters"]["epochs"] == 1
    assert large["reasons"]["epochs"].startswith("1 epoch: 49,000 examples × 1 passes")


def test_a_validation_dataset_means_nothing_is_held_out(owner):
    training = data(owner, bins=[(0, 49, 1200)])
    validation = data(owner, bins=[(0, 49, 100)], name="checks")
    result = configure(training, validation_dataset=validation)
    assert (
        result["reasons"]["epochs"] == "3 epochs: 1,200 examples × 3 passes stays within 100–25,000"
    )
    assert "the validation dataset" in result["reasons"]["eval_steps"]


def test_learning_rate_follows_the_model_size_the_method_and_pretrained_weights(owner, settings):
    settings.WORKER_DEVICE_MEMORY_MB = 64 * 1024  # GPT-2 XL's full fine-tuning needs about 27 GB
    dataset = data(owner, bins=[(0, 49, 500)])
    rate = {
        key: configure(dataset, key)["hyperparameters"]["learning_rate"]
        for key in ("builtin-tiny", "builtin-gpt2-124m", "gpt2", "gpt2-medium", "gpt2-xl")
    }
    assert rate == {
        "builtin-tiny": 1e-3,
        "builtin-gpt2-124m": 3e-4,
        "gpt2": 5e-5,
        "gpt2-medium": 3e-5,
        "gpt2-xl": 1e-5,
    }
    lora = configure(dataset, "gpt2", method="lora")
    assert lora["hyperparameters"]["learning_rate"] == 2e-4
    assert "LoRA" in lora["reasons"]["learning_rate"]
    assert "pretrained 124M-parameter" in configure(dataset, "gpt2")["reasons"]["learning_rate"]


def test_lora_values_follow_the_model_and_are_unused_for_full_fine_tuning(owner):
    dataset = data(owner, bins=[(0, 49, 500)])
    small, large = configure(dataset, "gpt2", "lora"), configure(dataset, "gpt2-large", "lora")
    assert (small["hyperparameters"]["lora_r"], small["hyperparameters"]["lora_alpha"]) == (8, 16)
    assert (large["hyperparameters"]["lora_r"], large["hyperparameters"]["lora_alpha"]) == (16, 32)
    assert small["hyperparameters"]["lora_dropout"] == 0.1  # 500 examples are few
    full = configure(dataset, "gpt2")
    assert full["hyperparameters"]["lora_r"] is None
    assert full["reasons"]["lora_r"].startswith("not used")


def test_batch_shrinks_to_fit_the_device_memory_for_a_large_model_and_long_rows(owner, settings):
    dataset = data(owner, bins=[(0, 999, 5000)])
    roomy = configure(dataset, "builtin-gpt2-124m")
    settings.WORKER_DEVICE_MEMORY_MB = 8 * 1024
    tight = configure(dataset, "builtin-gpt2-124m")
    assert tight["hyperparameters"]["max_seq_length"] == 1024
    assert tight["hyperparameters"]["batch_size"] < roomy["hyperparameters"]["batch_size"]
    assert "the largest that fits" in tight["reasons"]["batch_size"]


def test_a_small_dataset_gets_a_small_batch_so_an_epoch_has_several_steps(owner):
    result = configure(data(owner, bins=[(0, 49, 40)]))  # 36 training rows
    assert result["hyperparameters"]["batch_size"] == 4
    assert result["hyperparameters"]["gradient_accumulation_steps"] == 1
    assert result["reasons"]["batch_size"] == "batch 4: keeps 8+ batches per epoch over 36 rows"


def test_gradient_accumulation_reaches_an_effective_batch_of_32_on_a_large_dataset(owner):
    result = configure(data(owner, bins=[(0, 49, 10_000)]))
    hp = result["hyperparameters"]
    assert hp["batch_size"] * hp["gradient_accumulation_steps"] == 32
    rows = 9_000
    assert (
        result["total_steps"]
        == math.ceil(math.ceil(rows / hp["batch_size"]) / hp["gradient_accumulation_steps"])
        * hp["epochs"]
    )


def test_evaluations_and_checkpoints_are_spread_over_the_run(owner):
    result = configure(data(owner, bins=[(0, 49, 10_000)]))
    hp, steps = result["hyperparameters"], result["total_steps"]
    assert 3 <= steps // hp["eval_steps"] <= 10
    assert hp["save_steps"] % hp["eval_steps"] == 0
    assert 1 <= (steps - 1) // hp["save_steps"] <= 4


def test_the_checkpoint_reason_promises_only_what_is_kept(owner, settings):
    settings.JOB_CHECKPOINTS_KEPT = 1
    result = configure(data(owner, bins=[(0, 49, 10_000)]))
    written = (result["total_steps"] - 1) // result["hyperparameters"]["save_steps"]
    assert written > 1
    reason = result["reasons"]["save_steps"]
    assert f"{written} checkpoints over the run, the newest 1 kept" in reason


def test_precision_is_bf16_on_a_cuda_worker_and_on_a_cpu_only_with_bf16_instructions(
    owner, settings, monkeypatch
):
    dataset = data(owner, bins=[(0, 49, 500)])
    monkeypatch.setenv("CPU_BF16", "0")
    plan = configure(dataset)
    assert plan["hyperparameters"]["precision"] == "fp32"
    assert "CPU has no bf16 instructions" in plan["reasons"]["precision"]
    monkeypatch.setenv("CPU_BF16", "1")
    plan = configure(dataset)
    assert plan["hyperparameters"]["precision"] == "bf16"
    assert "the CPU has bf16 instructions" in plan["reasons"]["precision"]
    monkeypatch.setenv("CPU_BF16", "0")
    settings.WORKER_KIND = "h100"
    assert configure(dataset)["hyperparameters"]["precision"] == "bf16"
