"""What the model sees: format_segments, iter_examples and the preview endpoint agree."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.datasets.reader import format_segments, iter_examples
from jobs.datasets.services import dataset_create

pytestmark = pytest.mark.django_db

EOS = "<|endoftext|>"


@pytest.fixture(autouse=True)
def _small_minimum(settings):
    settings.DATASET_MIN_EXAMPLES = 2


def create(owner, filename, content, **kwargs):
    return dataset_create(
        owner=owner, upload=SimpleUploadedFile(filename, content.encode()), name="", **kwargs
    )


def test_plain_text_is_trained_on_whole():
    assert format_segments("text", {"text": "To be, or not to be"}) == [
        ("To be, or not to be", True)
    ]


def test_a_completion_carries_the_loss_and_ends_with_end_of_text():
    segments = format_segments(
        "prompt_completion", {"prompt": "Capital of France?", "completion": "Paris"}
    )
    assert segments == [("Capital of France?\n", False), ("Paris" + EOS, True)]
    segments = format_segments(
        "prompt_completion", {"prompt": "The capital is", "completion": " Paris"}
    )
    assert segments == [("The capital is", False), (" Paris" + EOS, True)]


def test_only_assistant_turns_carry_the_loss_in_a_chat():
    example = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello."},
            {"role": "user", "content": "Bye"},
            {"role": "assistant", "content": "Goodbye."},
        ]
    }
    assert format_segments("chat", example) == [
        ("System: Be brief.\nUser: Hi\nAssistant: ", False),
        ("Hello.\n", True),
        ("User: Bye\nAssistant: ", False),
        ("Goodbye.\n" + EOS, True),
    ]


def test_iter_examples_yields_only_valid_rows_normalized_to_canonical_names(owner):
    rows = [{"q": f"q{i}", "a": f"a{i}"} for i in range(3)] + [{"q": "no answer"}]
    content = "\n".join(json.dumps(r) for r in rows)
    dataset = create(owner, "qa.jsonl", content, column_mapping={"prompt": "q", "completion": "a"})
    assert list(iter_examples(dataset)) == [
        {"prompt": f"q{i}", "completion": f"a{i}"} for i in range(3)
    ]


def test_iter_examples_reads_txt_paragraphs_and_csv_rows(owner):
    dataset = create(owner, "t.txt", "First line\nsame paragraph\n\n\nSecond\n")
    assert list(iter_examples(dataset)) == [
        {"text": "First line\nsame paragraph"},
        {"text": "Second"},
    ]
    dataset = create(owner, "t.csv", 'body\n"multi\nline"\nsingle\n')
    assert list(iter_examples(dataset)) == [{"text": "multi\nline"}, {"text": "single"}]


def test_the_preview_endpoint_shows_the_template_and_the_loss(owner_api, owner, other_api):
    chats = [
        {
            "messages": [
                {"role": "user", "content": f"Question {i}"},
                {"role": "assistant", "content": f"Answer {i}"},
            ]
        }
        for i in range(7)
    ]
    dataset = create(owner, "chat.jsonl", "\n".join(json.dumps(c) for c in chats))
    response = owner_api.get(f"/api/v1/datasets/{dataset.pk}/preview/")
    assert response.status_code == 200
    body = response.json()
    assert body["kind"] == "chat"
    assert len(body["examples"]) == 5
    first = body["examples"][0]
    assert first["line"] == 1
    assert first["segments"] == [
        {"text": "User: Question 0\nAssistant: ", "loss": False},
        {"text": "Answer 0\n" + EOS, "loss": True},
    ]
    assert first["tokens"] == 11
    assert other_api.get(f"/api/v1/datasets/{dataset.pk}/preview/").status_code == 404


def test_the_portal_preview_highlights_the_loss_carrying_part(client, owner, password):
    rows = [{"prompt": f"Say {i}", "completion": f"Done {i}"} for i in range(3)]
    dataset = create(owner, "pc.jsonl", "\n".join(json.dumps(r) for r in rows))
    client.login(username=owner.username, password=password)
    page = client.get(f"/datasets/{dataset.pk}/").content.decode()
    assert (
        '<span class="seg context">Say 0\n</span>'
        '<span class="seg loss">Done 0&lt;|endoftext|&gt;</span>' in page
    )
