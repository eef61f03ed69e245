"""The formats people bring from other tools are recognised, named, and shown as trained."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from jobs.datasets import reader
from jobs.datasets.services import dataset_create
from jobs.engine.tokenizer import EOS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _small_minimum(settings):
    settings.DATASET_MIN_EXAMPLES = 3


def jsonl(*records):
    return "\n".join(json.dumps(r) for r in records) + "\n"


def upload(owner, name, content, **kwargs):
    data = content if isinstance(content, bytes) else content.encode()
    return dataset_create(owner=owner, upload=SimpleUploadedFile(name, data), name="", **kwargs)


def seen(dataset):
    """What the model sees for each example, as (text, carries_loss) pairs, read for training."""
    return [reader.format_segments(dataset.kind, e) for e in reader.iter_examples(dataset)]


def preview_texts(dataset):
    return [
        [(s["text"], s["loss"]) for s in p["segments"]] for p in reader.preview_examples(dataset)
    ]


ALPACA = [
    {"instruction": "Translate to French.", "input": "cheese", "output": "fromage"},
    {"instruction": "Name a colour.", "input": "", "output": "Blue."},
    {"instruction": "Add.", "input": "2 + 2", "output": "4", "system": "You are terse."},
]


def test_alpaca_records_put_the_input_in_the_prompt_with_the_documented_template(owner_api):
    response = owner_api.post(
        "/api/v1/datasets/",
        {"file": SimpleUploadedFile("alpaca.jsonl", jsonl(*ALPACA).encode())},
        format="multipart",
    )
    body = response.json()
    assert (body["status"], body["detected_format"], body["kind"]) == (
        "valid",
        "alpaca",
        "prompt_completion",
    )
    preview = owner_api.get(body["preview_url"]).json()
    assert preview["detected_format"] == "alpaca"
    first, second, third = [p["segments"] for p in preview["examples"]]
    assert first == [
        {
            "text": "### Instruction:\nTranslate to French.\n\n"
            "### Input:\ncheese\n\n### Response:\n",
            "loss": False,
        },
        {"text": "fromage" + EOS, "loss": True},
    ]
    assert "### Input" not in second[0]["text"]
    assert third[0]["text"].startswith(
        "You are terse.\n\n### Instruction:\nAdd.\n\n### Input:\n2 + 2"
    )


def test_training_preview_and_statistics_read_alpaca_the_same_way(owner):
    dataset = upload(owner, "alpaca.json", json.dumps(ALPACA))
    assert dataset.is_valid and dataset.detected_format == "alpaca"
    assert seen(dataset) == preview_texts(dataset)
    assert dataset.num_examples == 3


def test_a_csv_with_alpaca_columns_and_no_input_column_is_alpaca(owner):
    content = "instruction,output\nSay hi.,Hi!\nSay bye.,Bye!\nCount.,1 2 3\n"
    dataset = upload(owner, "alpaca.csv", content)
    assert dataset.is_valid and dataset.detected_format == "alpaca"
    assert seen(dataset)[0][0][0] == "### Instruction:\nSay hi.\n\n### Response:\n"


SHAREGPT = [
    {
        "system": "Be kind.",
        "conversations": [
            {"from": "human", "value": "Hello"},
            {"from": "gpt", "value": "Hi there"},
            {"from": "human", "value": "How are you?"},
            {"from": "gpt", "value": "Fine."},
        ],
    },
    {"conversations": [{"from": "user", "value": "Q"}, {"from": "assistant", "value": "A"}]},
    {
        "conversations": [
            {"from": "system", "value": "Short answers."},
            {"from": "human", "value": "2+2?"},
            {"from": "gpt", "value": "4"},
        ]
    },
]


def test_sharegpt_conversations_are_read_as_chat_with_their_system_field(owner):
    dataset = upload(owner, "share.jsonl", jsonl(*SHAREGPT))
    assert dataset.is_valid
    assert (dataset.detected_format, dataset.kind) == ("sharegpt", "chat")
    first, second, third = seen(dataset)
    assert first == [
        ("System: Be kind.\nUser: Hello\nAssistant: ", False),
        ("Hi there\n", True),
        ("User: How are you?\nAssistant: ", False),
        ("Fine.\n" + EOS, True),
    ]
    assert second[0] == ("User: Q\nAssistant: ", False)
    assert third[0][0].startswith("System: Short answers.\nUser: 2+2?")
    assert preview_texts(dataset) == [first, second, third]


def test_openai_chat_with_a_system_message_and_several_turns_is_openai_chat(owner):
    chat = {
        "messages": [
            {"role": "system", "content": "Terse."},
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": "b"},
            {"role": "user", "content": "c"},
            {"role": "assistant", "content": "d"},
        ]
    }
    dataset = upload(owner, "chat.jsonl", jsonl(chat, chat, chat))
    assert (dataset.detected_format, dataset.kind) == ("openai_chat", "chat")
    assert [loss for _, loss in seen(dataset)[0]] == [False, True, False, True]


def test_openai_legacy_prompt_completion_is_named(owner):
    pairs = [{"prompt": f"q{i} ->", "completion": f" a{i}"} for i in range(3)]
    dataset = upload(owner, "legacy.jsonl", jsonl(*pairs))
    assert (dataset.detected_format, dataset.kind) == ("prompt_completion", "prompt_completion")


def test_a_mapping_reads_other_column_names_as_alpaca_or_sharegpt(owner):
    rows = [{"task": f"Say {i}", "context": "now", "answer": str(i)} for i in range(3)]
    mapping = {"instruction": "task", "input": "context", "output": "answer"}
    dataset = upload(owner, "tasks.jsonl", jsonl(*rows), column_mapping=mapping)
    assert dataset.is_valid and dataset.detected_format == "alpaca"
    assert seen(dataset)[0][0][0] == "### Instruction:\nSay 0\n\n### Input:\nnow\n\n### Response:\n"
    turns = [{"turns": SHAREGPT[1]["conversations"]}] * 3
    dataset = upload(owner, "turns.jsonl", jsonl(*turns), column_mapping={"conversations": "turns"})
    assert dataset.is_valid and dataset.detected_format == "sharegpt"


def test_a_mapping_that_expects_another_format_says_which_in_plain_words(owner):
    dataset = upload(
        owner, "share.jsonl", jsonl(*SHAREGPT), column_mapping={"messages": "conversations"}
    )
    error = dataset.errors[0]
    assert not dataset.is_valid
    assert error["line"] == 1 and error["field"] == "conversations[0].role"
    assert "ShareGPT" in error["message"] and "OpenAI chat" in error["message"]
    assert "'conversations'" in error["message"]
    bad_role = {"messages": [{"content": "x"}, {"role": "assistant", "content": "y"}]}
    dataset = upload(owner, "chat.jsonl", jsonl(bad_role, bad_role, bad_role))
    message = dataset.errors[0]["message"]
    assert "no 'role'" in message and "system, user or assistant" in message


def test_a_mapping_that_fits_no_format_is_refused_naming_the_formats(owner_api):
    response = owner_api.post(
        "/api/v1/datasets/",
        {
            "file": SimpleUploadedFile("x.jsonl", jsonl(*ALPACA).encode()),
            "column_mapping": json.dumps({"instruction": "a"}),
        },
        format="multipart",
    )
    assert response.status_code == 400
    message = response.json()["column_mapping"][0]
    assert "Alpaca" in message and "ShareGPT" in message and "OpenAI chat" in message


def test_the_pages_name_the_format_and_show_its_template(owner_client, owner):
    dataset = upload(owner, "share.jsonl", jsonl(*SHAREGPT))
    listing = owner_client.get(reverse("dataset-list")).content.decode()
    assert "ShareGPT conversations" in listing
    detail = owner_client.get(reverse("dataset-detail", args=[dataset.pk])).content.decode()
    assert "ShareGPT conversations" in detail and "Template for ShareGPT" in detail


def test_the_portal_form_maps_alpaca_columns(owner_client, owner):
    rows = [{"q": f"Say {i}", "a": str(i)} for i in range(3)]
    response = owner_client.post(
        reverse("dataset-list"),
        {
            "file": SimpleUploadedFile("qa.jsonl", jsonl(*rows).encode()),
            "instruction_column": "q",
            "output_column": "a",
        },
    )
    assert response.status_code == 302
    dataset = owner.datasets.get()
    assert dataset.is_valid and dataset.detected_format == "alpaca"


def test_the_playground_wraps_a_prompt_for_an_alpaca_trained_model_in_its_template():
    from jobs.datasets.reader import generation_prompt

    prompt = generation_prompt("prompt_completion", "Say hi.", "alpaca")
    assert prompt == "### Instruction:\nSay hi.\n\n### Response:\n"
    assert generation_prompt("prompt_completion", "Say hi.") == "Say hi.\n"
