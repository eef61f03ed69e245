"""What auto-configuration reads of a dataset: its longest example counted as the dataset page
counts it, and the rows, steps and tokens the engine really makes of it."""

import json
import math

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.datasets.reader import format_segments, iter_examples
from jobs.datasets.services import dataset_create
from jobs.engine import loop
from jobs.engine.tokenizer import EOS, gpt2_tokenizer
from tests.jobs.planning.builders import configure

pytestmark = pytest.mark.django_db


def test_the_wizard_and_the_dataset_page_quote_the_same_longest_example(owner, client, owner_api):
    # Completions of 1 to 31 words: the longest example ends inside a histogram bin, whose end
    # is a round number above it.
    rows = [{"prompt": "Count with me:", "completion": " one" * n} for n in range(1, 32)]
    content = "\n".join(json.dumps(row) for row in rows)
    dataset = upload(owner, "count.jsonl", content)
    # As formatted for training: the completion follows its prompt and ends with end-of-text.
    longest = len(gpt2_tokenizer()("Count with me:" + " one" * 31 + EOS)["input_ids"])
    assert dataset.stats["histogram"][-1]["end"] != longest

    client.force_login(owner)
    page = client.get(f"/datasets/{dataset.pk}/").content.decode()
    assert f'<div class="stat">{longest}</div><div class="stat-label">longest example' in page
    assert "Counts include the end-of-text token that ends each example." in page
    body = {"dataset": dataset.pk, "base_model": "builtin-tiny"}
    reasons = owner_api.post("/api/v1/jobs/estimate/", body, format="json").json()["reasons"]
    assert f"longest example {longest} tokens, end-of-text included" in reasons["max_seq_length"]


def upload(owner, name, content):
    return dataset_create(owner=owner, upload=SimpleUploadedFile(name, content.encode()), name=name)


def engine_steps(dataset, hp):
    """Steps per epoch as the training engine computes them from the real rows."""
    cfg = loop.TrainConfig(kind=dataset.kind, max_seq_length=hp["max_seq_length"], seed=hp["seed"])
    examples = [format_segments(dataset.kind, ex) for ex in iter_examples(dataset)]
    train_rows, _, _ = loop.prepare_rows(cfg, loop.load_tokenizer(""), examples, None)
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
