"""The playground with a chat-trained job: a system prompt and the conversation so far are sent
in the training format; other jobs refuse them with a clear message; an answer ends where the
model starts the next turn."""

import pytest
from django.urls import reverse

from jobs.playground.generation import end_of_turn
from tests.jobs.factories import give_tiny_model, make_dataset, make_job
from tests.jobs.playground.test_prompt import CHAT, jsonl_dataset

pytestmark = pytest.mark.django_db


def ask(client, job, **body):
    options = {"max_new_tokens": 3, "temperature": 0, "compare_base": False}
    return client.post(f"/api/v1/jobs/{job.pk}/generate/", {**options, **body}, format="json")


def test_a_chat_job_gets_the_system_prompt_and_the_whole_conversation(owner_api, owner):
    job = make_job(owner, jsonl_dataset(owner, CHAT))
    give_tiny_model(job)
    history = [
        {"role": "user", "content": "Name colour 1"},
        {"role": "assistant", "content": "ochre\nand umber"},
    ]
    response = ask(owner_api, job, prompt="And 2?", system="Be brief.", history=history)
    assert response.status_code == 200, response.json()
    assert response.json()["prompt_used"] == (
        "System: Be brief.\nUser: Name colour 1\nAssistant: ochre\nand umber\n"
        "User: And 2?\nAssistant: "
    )


def test_a_job_not_trained_on_chat_refuses_a_system_prompt(owner_api, owner):
    job = make_job(owner, make_dataset(owner))
    give_tiny_model(job)
    response = ask(owner_api, job, prompt="The fox", system="Be brief.")
    assert response.status_code == 409  # the job was not trained for it: its state, not the request
    assert "apply only to chat-trained models" in response.json()["system"][0]


def test_a_turn_with_an_unknown_role_is_refused(owner_api, owner):
    job = make_job(owner, jsonl_dataset(owner, CHAT))
    give_tiny_model(job)
    response = ask(owner_api, job, prompt="Hi", history=[{"role": "robot", "content": "x"}])
    assert response.status_code == 400 and "history" in response.json()


def test_an_answer_ends_where_the_model_starts_the_next_turn():
    assert end_of_turn("ochre.\nUser: and now?\nAssistant: x") == "ochre."
    assert end_of_turn("two\nlines\n") == "two\nlines"


def test_the_page_of_a_chat_job_offers_a_system_prompt_and_a_conversation(client, owner):
    chat_job = make_job(owner, jsonl_dataset(owner, CHAT))
    give_tiny_model(chat_job)
    text_job = make_job(owner, make_dataset(owner, name="text"))
    give_tiny_model(text_job)
    client.force_login(owner)
    page = client.get(reverse("job-playground", args=[chat_job.pk])).content.decode()
    assert "System prompt" in page and 'id="conversation"' in page
    page = client.get(reverse("job-playground", args=[text_job.pk])).content.decode()
    assert "System prompt" not in page and 'id="conversation"' not in page
    response = client.post(
        reverse("job-playground", args=[chat_job.pk]),
        {
            "prompt": "Name colour 3",
            "system": "Be brief.",
            "max_new_tokens": 2,
            "top_p": 0.9,
            "temperature": 0,
        },
    )
    assert response.context["result"]["prompt_used"].startswith("System: Be brief.\nUser: ")
