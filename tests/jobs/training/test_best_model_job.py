"""A job through the real queue (sync) and engine: early stopping and the best model as a user
sees them (events, the card, the final checkpoint), and a chat job's exported tokenizer whose
chat_template writes exactly what training saw."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from transformers import AutoTokenizer

from jobs.datasets.reader import example_text, iter_examples
from jobs.datasets.services import dataset_create
from jobs.models import Checkpoint, Job
from tests.jobs.training.runs import launch


def upload(owner, name, records):
    body = "\n".join(json.dumps(r) for r in records).encode()
    dataset = dataset_create(
        owner=owner, upload=SimpleUploadedFile(f"{name}.jsonl", body), name=name
    )
    assert dataset.is_valid, dataset.errors
    return dataset


def qa(answer, n):
    return [{"prompt": "Q: colour of sky?", "completion": f" {answer}"}] * n


pytestmark = pytest.mark.usefixtures("sync_queue")

CHAT = [
    {
        "messages": [
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": f"What is {i} plus {i}?"},
            {"role": "assistant", "content": f"{2 * i}."},
            {"role": "user", "content": "And twice that?"},
            {"role": "assistant", "content": f"{4 * i}."},
        ]
    }
    for i in range(24)
]


def run(owner, dataset, django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        job = launch(owner, dataset, **kwargs)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    return job


@pytest.mark.django_db
def test_an_overfitting_job_stops_early_and_exports_its_best_checkpoint(
    owner,
    django_capture_on_commit_callbacks,
):
    hp = {
        "epochs": 10,
        "batch_size": 4,
        "max_seq_length": 32,
        "learning_rate": 1e-2,
        "lr_scheduler": "constant",
        "warmup_ratio": 0.0,
        "eval_steps": 2,
        "save_steps": 0,
        "early_stopping_patience": 3,
    }
    job = run(
        owner,
        upload(owner, "green", qa("green", 16)),
        django_capture_on_commit_callbacks,
        validation_dataset=upload(owner, "blue", qa("blue", 10)),
        hyperparameters=hp,
    )
    assert job.hyperparameters["exported_model"] == "best"
    assert "validation dataset" in job.hyperparameter_reasons["exported_model"]
    assert job.step < job.total_steps
    events = list(job.events.values_list("message", flat=True))
    assert any(m.startswith(f"Stopped early at step {job.step}") for m in events)
    best_step = job.actual["best_step"]
    assert job.actual["early_stopped"] and job.actual["exported_step"] == best_step < job.step
    # The best checkpoint is kept, and the final model carries its eval loss, not the last one.
    kept = Checkpoint.objects.get(job=job, is_final=False, step=best_step)
    final = Checkpoint.objects.get(job=job, is_final=True)
    assert final.eval_loss == pytest.approx(kept.eval_loss) and final.eval_loss < job.eval_loss
    card = (job.model_folder / "README.md").read_text()
    assert f"best weights, from step {best_step}" in card
    assert f"Stopped early at step {job.step}" in card


@pytest.mark.django_db
def test_a_chat_job_s_tokenizer_applies_the_training_format(
    owner,
    django_capture_on_commit_callbacks,
):
    dataset = upload(owner, "chat", CHAT)
    job = run(owner, dataset, django_capture_on_commit_callbacks)

    tokenizer = AutoTokenizer.from_pretrained(job.model_folder)
    for example in list(iter_examples(dataset))[:3]:
        trained_on = example_text("chat", example)
        assert tokenizer.apply_chat_template(example["messages"], tokenize=False) == trained_on
    asked = tokenizer.apply_chat_template(
        CHAT[0]["messages"][:2], tokenize=False, add_generation_prompt=True
    )
    assert asked == "System: Answer briefly.\nUser: What is 0 plus 0?\nAssistant: "
    card = (job.model_folder / "README.md").read_text()
    assert "## Prompt format" in card and "apply_chat_template" in card
    assert "System: You are helpful.\nUser: Hi\nAssistant: " in card


@pytest.mark.django_db
def test_a_prompt_completion_card_states_its_prompt_format(
    owner,
    django_capture_on_commit_callbacks,
):
    job = run(owner, upload(owner, "qa", qa("blue", 24)), django_capture_on_commit_callbacks)
    card = (job.model_folder / "README.md").read_text()
    assert "## Prompt format" in card
    assert "followed by a newline unless the prompt already ends with whitespace" in card
    tokenizer = AutoTokenizer.from_pretrained(job.model_folder)
    assert not tokenizer.chat_template  # only chat-trained models get one
