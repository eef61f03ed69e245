"""Auto-configuration's refusals: values that cannot work together, on this model or worker."""

import pytest
from django.core.exceptions import ValidationError

from tests.jobs.planning.builders import configure, data, refusal

pytestmark = pytest.mark.django_db


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
