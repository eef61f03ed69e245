"""Auto-configuration: the rules on small and large data and models, the user's values, the
refusals, the agreement with the engine's step count, and the estimate endpoint."""

import math

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.datasets.reader import format_segments, iter_examples
from jobs.datasets.services import dataset_create
from jobs.models import BaseModel, Dataset
from jobs.planning.autoconfig import resolve
from jobs.planning.hyperparameters import HYPERPARAMETERS
from jobs.training import engine

pytestmark = pytest.mark.django_db

URL = "/api/v1/jobs/estimate/"


@pytest.fixture(autouse=True)
def _worker(settings):
    # A CPU worker with 16 GB, whatever machine runs the tests.
    settings.WORKER_KIND = "cpu"
    settings.WORKER_DEVICE_MEMORY_MB = 16 * 1024


def model(key):
    return BaseModel.objects.get(key=key)


def data(owner, *, kind="prompt_completion", bins, name="data"):
    """A valid dataset row whose statistics are the given histogram [(start, end, count)]."""
    histogram = [{"start": s, "end": e, "count": c} for s, e, c in bins]
    examples = sum(c for _, _, c in bins)
    tokens = round(sum((s + e) / 2 * c for s, e, c in bins))
    return Dataset.objects.create(
        owner=owner,
        name=name,
        original_filename=f"{name}.jsonl",
        format="jsonl",
        kind=kind,
        status=Dataset.Status.VALID,
        num_examples=examples,
        total_tokens=tokens,
        stats={"histogram": histogram, "max_tokens": max(e for _, e, _ in bins)},
    )


def configure(dataset, key="builtin-tiny", method="full", validation_dataset=None, **requested):
    return resolve(
        dataset=dataset,
        base_model=model(key),
        method=method,
        requested=requested,
        validation_dataset=validation_dataset,
    )


def refusal(dataset, key="builtin-tiny", method="full", **requested):
    with pytest.raises(ValidationError) as caught:
        configure(dataset, key, method, **requested)
    return caught.value.message_dict


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


def test_precision_is_bf16_on_a_cuda_worker_and_fp32_on_cpu(owner, settings):
    dataset = data(owner, bins=[(0, 49, 500)])
    assert configure(dataset)["hyperparameters"]["precision"] == "fp32"
    settings.WORKER_KIND = "h100"
    assert configure(dataset)["hyperparameters"]["precision"] == "bf16"


# --- The user's values ------------------------------------------------------------------------


def test_a_value_the_user_fixed_wins_and_says_set_by_you(owner):
    dataset = data(owner, bins=[(0, 49, 1000)])
    auto = configure(dataset)
    fixed = configure(dataset, learning_rate=3e-4, batch_size=2, epochs=1)
    assert fixed["hyperparameters"]["learning_rate"] == 3e-4
    assert fixed["reasons"]["learning_rate"] == "set by you"
    assert fixed["fixed"] == ["epochs", "learning_rate", "batch_size"]
    # The rules that depend on them follow: 900 rows in batches of 2, one epoch.
    assert fixed["total_steps"] == math.ceil(
        450 / fixed["hyperparameters"]["gradient_accumulation_steps"]
    )
    assert fixed["total_steps"] != auto["total_steps"]


def test_null_means_choose_for_me(owner):
    result = configure(data(owner, bins=[(0, 49, 1000)]), learning_rate=None)
    assert result["reasons"]["learning_rate"] != "set by you"


# --- Refusals --------------------------------------------------------------------------------


def test_it_refuses_a_learning_rate_out_of_range(owner):
    errors = refusal(data(owner, bins=[(0, 49, 100)]), learning_rate=0.5)
    assert list(errors) == ["hyperparameters.learning_rate"]


def test_it_refuses_a_sequence_length_above_the_models_context(owner):
    errors = refusal(data(owner, bins=[(0, 49, 100)]), max_seq_length=512)
    assert "context of 256 tokens" in errors["hyperparameters.max_seq_length"][0]


def test_it_refuses_lora_settings_on_full_fine_tuning_and_a_rank_above_the_width(owner):
    dataset = data(owner, bins=[(0, 49, 100)])
    assert "only to LoRA" in refusal(dataset, lora_r=8)["hyperparameters.lora_r"][0]
    assert "width of 64" in refusal(dataset, method="lora", lora_r=128)["hyperparameters.lora_r"][0]
    assert list(refusal(dataset, method="lora", lora_r=0)) == ["hyperparameters.lora_r"]


def test_it_refuses_a_batch_that_cannot_fit_in_the_workers_memory(owner, settings):
    settings.WORKER_DEVICE_MEMORY_MB = 4 * 1024
    errors = refusal(
        data(owner, bins=[(0, 999, 500)]), "builtin-gpt2-124m", batch_size=64, max_seq_length=1024
    )
    assert "needs about" in errors["hyperparameters.batch_size"][0]
    assert "worker has 4.3 GB" in errors["hyperparameters.batch_size"][0]


def test_it_refuses_a_model_that_does_not_fit_even_with_batch_1(owner, settings):
    settings.WORKER_DEVICE_MEMORY_MB = 1024
    errors = refusal(data(owner, bins=[(0, 999, 500)]), "gpt2-xl")
    assert "even with batch 1" in errors["base_model"][0]


def test_it_refuses_unknown_names_wrong_types_and_fp16_on_cpu(owner):
    dataset = data(owner, bins=[(0, 49, 100)])
    assert (
        "Unknown hyperparameters: colour, size"
        in refusal(dataset, colour=1, size=2)["hyperparameters"][0]
    )
    assert list(refusal(dataset, epochs="many")) == ["hyperparameters.epochs"]
    assert list(refusal(dataset, lr_scheduler="sawtooth")) == ["hyperparameters.lr_scheduler"]
    assert (
        "not available on cpu workers"
        in refusal(dataset, precision="fp16")["hyperparameters.precision"][0]
    )


def test_it_refuses_a_validation_dataset_of_another_kind(owner):
    training = data(owner, bins=[(0, 49, 100)])
    chat = data(owner, kind="chat", bins=[(0, 49, 100)], name="chat")
    with pytest.raises(ValidationError) as caught:
        configure(training, validation_dataset=chat)
    assert "same kind" in caught.value.message_dict["validation_dataset"][0]


# --- Agreement with the engine ---------------------------------------------------------------


def upload(owner, name, content):
    return dataset_create(owner=owner, upload=SimpleUploadedFile(name, content.encode()), name=name)


def engine_steps(dataset, hp):
    """Steps per epoch as the training engine computes them from the real rows."""
    cfg = engine.TrainConfig(
        kind=dataset.kind, max_seq_length=hp["max_seq_length"], seed=hp["seed"]
    )
    examples = [format_segments(dataset.kind, ex) for ex in iter_examples(dataset)]
    train_rows, _, _ = engine.prepare_rows(cfg, engine.load_tokenizer(""), examples, None)
    batches = math.ceil(len(train_rows) / hp["batch_size"])
    return math.ceil(batches / hp["gradient_accumulation_steps"]), train_rows.num_tokens


def test_steps_and_tokens_match_the_engine_for_prompt_completion_data(owner):
    rows = "\n".join(
        f'{{"prompt": "Question {i}: what is {i} plus {i}?", "completion": "It is {2 * i}."}}'
        for i in range(150)
    )
    dataset = upload(owner, "sums.jsonl", rows)
    assert dataset.is_valid and dataset.num_examples == 150
    result = configure(dataset, batch_size=4, gradient_accumulation_steps=2)
    hp = result["hyperparameters"]
    steps, tokens = engine_steps(dataset, hp)
    assert result["total_steps"] == steps * hp["epochs"]
    assert result["total_tokens"] == pytest.approx(tokens * hp["epochs"], rel=0.05)


@pytest.mark.parametrize("fixed", [{}, {"batch_size": 8, "max_seq_length": 64}])
def test_steps_and_tokens_match_the_engine_for_packed_text(owner, fixed):
    text = "\n\n".join(
        f"Part {i}: the fox ran {i} miles before the rain came. " * (1 + i % 7) for i in range(300)
    )
    dataset = upload(owner, "story.txt", text)
    assert dataset.is_valid and dataset.num_examples == 300
    result = configure(dataset, **fixed)
    hp = result["hyperparameters"]
    steps, tokens = engine_steps(dataset, hp)
    # Packed text is held out by block, so the step count is exact whatever examples are drawn.
    assert result["total_steps"] == steps * hp["epochs"]
    assert result["total_tokens"] == pytest.approx(tokens * hp["epochs"], rel=0.02)


def test_a_last_packed_block_of_one_token_is_not_counted_as_a_row(owner):
    # 43 texts of two tokens, each followed by an EOS: 129 tokens, four blocks of 32 and one
    # token left over, which the engine drops (it has nothing to predict).
    dataset = upload(owner, "short.txt", "\n\n".join(["Hi there"] * 43))
    assert dataset.total_tokens + dataset.num_examples == 129
    result = configure(dataset, max_seq_length=32, batch_size=1, gradient_accumulation_steps=1)
    hp = result["hyperparameters"]
    steps, _ = engine_steps(dataset, hp)
    assert result["total_steps"] == steps * hp["epochs"] == 3 * hp["epochs"]


# --- The endpoint ----------------------------------------------------------------------------


def test_the_endpoint_returns_values_reasons_steps_and_the_estimate(owner, owner_api):
    dataset = data(owner, bins=[(0, 49, 300)])
    response = owner_api.post(
        URL,
        {
            "dataset": dataset.pk,
            "base_model": "builtin-tiny",
            "method": "full",
            "hyperparameters": {"epochs": 2},
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body["hyperparameters"]) == set(HYPERPARAMETERS) == set(body["reasons"])
    assert body["fixed"] == ["epochs"] and body["reasons"]["epochs"] == "set by you"
    assert body["total_steps"] > 0 and body["total_tokens"] > 0
    estimate = body["estimate"]
    for key in (
        "seconds",
        "tokens_per_second",
        "peak_memory_bytes",
        "device_memory_bytes",
        "fits",
        "cost",
        "currency",
        "device_kind",
        "basis",
    ):
        assert key in estimate
    assert estimate["fits"] is True and estimate["basis"] == "FLOPs estimate"


def test_another_users_dataset_reads_as_no_such_dataset(owner, other_api):
    dataset = data(owner, bins=[(0, 49, 300)])
    response = other_api.post(
        URL, {"dataset": dataset.pk, "base_model": "builtin-tiny"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"dataset": [f"No dataset with id {dataset.pk}"]}
    missing = other_api.post(URL, {"dataset": 999999, "base_model": "builtin-tiny"}, format="json")
    assert missing.json() == {"dataset": ["No dataset with id 999999"]}


def test_the_endpoint_explains_an_invalid_dataset_and_bad_fields(owner, owner_api):
    broken = data(owner, bins=[(0, 49, 300)])
    broken.status, broken.error_count = Dataset.Status.INVALID, 3
    broken.save(update_fields=["status", "error_count"])
    response = owner_api.post(
        URL, {"dataset": broken.pk, "base_model": "builtin-tiny"}, format="json"
    )
    assert response.status_code == 400
    assert "invalid (3 problems): see its report" in response.json()["dataset"][0]

    good = data(owner, bins=[(0, 49, 300)])
    body = {
        "dataset": good.pk,
        "base_model": "builtin-tiny",
        "hyperparameters": {"learning_rate": 1, "speed": 3},
    }
    assert (
        "Unknown hyperparameter: speed"
        in owner_api.post(URL, body, format="json").json()["hyperparameters"][0]
    )
    body["hyperparameters"] = {"learning_rate": 1}
    assert "hyperparameters.learning_rate" in owner_api.post(URL, body, format="json").json()
    unknown_model = {"dataset": good.pk, "base_model": "gpt-9"}
    assert "base_model" in owner_api.post(URL, unknown_model, format="json").json()


def test_the_endpoint_needs_a_signed_in_user(api_client):
    assert api_client.post(
        URL, {"dataset": 1, "base_model": "builtin-tiny"}, format="json"
    ).status_code in (401, 403)


def test_continuing_a_finished_job_starts_from_trained_weights(
    owner, owner_api, other_user, other_api
):
    from tests.jobs.factories import give_tiny_model, make_job

    dataset = data(owner, bins=[(0, 49, 300)])
    parent = make_job(owner, dataset=dataset)
    give_tiny_model(parent)
    body = {"dataset": dataset.pk, "base_model": f"job-{parent.pk}"}
    response = owner_api.post(URL, body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["hyperparameters"]["learning_rate"] == 5e-5
    assert "pretrained" in response.json()["reasons"]["learning_rate"]
    other_dataset = data(other_user, bins=[(0, 49, 300)])
    body = {"dataset": other_dataset.pk, "base_model": f"job-{parent.pk}"}
    assert "base_model" in other_api.post(URL, body, format="json").json()
