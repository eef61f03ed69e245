"""The playground and POST /generate/ prompt a model in the format it was trained on, show the
exact text sent, and never show control characters."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from jobs.datasets.services import dataset_create
from jobs.playground.generation import readable
from tests.jobs.factories import give_tiny_model, make_dataset, make_job

pytestmark = pytest.mark.django_db

CHAT = [
    {
        "messages": [
            {"role": "user", "content": f"Name colour {i}"},
            {"role": "assistant", "content": "ochre"},
        ]
    }
    for i in range(12)
]
PAIRS = [{"prompt": f"Translate: word {i}", "completion": "mot"} for i in range(12)]


def jsonl_dataset(owner, rows):
    upload = SimpleUploadedFile("data.jsonl", "\n".join(map(json.dumps, rows)).encode())
    dataset = dataset_create(owner=owner, upload=upload, name="data")
    assert dataset.is_valid, dataset.errors
    return dataset


def generate(client, job, prompt):
    response = client.post(
        f"/api/v1/jobs/{job.pk}/generate/",
        {"prompt": prompt, "max_new_tokens": 4, "temperature": 0, "compare_base": True},
        format="json",
    )
    assert response.status_code == 200, response.json()
    return response.json()


@pytest.mark.parametrize(
    "rows,prompt,sent",
    [
        (CHAT, "Name colour 3", "User: Name colour 3\nAssistant: "),
        (PAIRS, "Translate: word 3", "Translate: word 3\n"),
        (None, "The quick brown", "The quick brown"),
    ],
)
def test_the_prompt_is_sent_in_the_jobs_training_format_and_returned(
    owner_api, owner, rows, prompt, sent
):
    dataset = jsonl_dataset(owner, rows) if rows else make_dataset(owner)
    job = make_job(owner, dataset)
    give_tiny_model(job)
    assert generate(owner_api, job, prompt)["prompt_used"] == sent


def test_the_playground_page_shows_what_was_sent_to_the_models(client, owner):
    job = make_job(owner, jsonl_dataset(owner, CHAT))
    give_tiny_model(job)
    client.force_login(owner)
    response = client.post(
        reverse("job-playground", args=[job.pk]),
        {"prompt": "Name colour 3", "max_new_tokens": 3, "temperature": 0, "top_p": 0.9},
    )
    assert response.status_code == 200
    assert "Sent to the models" in response.content.decode()
    assert response.context["result"]["prompt_used"] == "User: Name colour 3\nAssistant: "


def test_generated_text_loses_control_characters_but_keeps_its_lines():
    assert readable("a\x00b\x1b[0m\r\nc\td\ufffde\x85") == "ab[0m\nc\tde"
