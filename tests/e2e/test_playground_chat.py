"""The playground of a chat-trained job in Chromium: a system prompt and a conversation of
several turns, each sent in the training format (the "Sent to the models" box shows it)."""

import pytest
from playwright.sync_api import expect

from tests.jobs.factories import give_tiny_model, make_job
from tests.jobs.playground.test_prompt import CHAT, jsonl_dataset

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long test password 93"


def test_a_chat_job_keeps_the_conversation_and_its_system_prompt(
    new_context, live_server, django_user_model, shots
):
    user = django_user_model.objects.create_user("cora", "cora@example.com", PASSWORD)
    job = make_job(user, jsonl_dataset(user, CHAT), name="Colour chat")
    give_tiny_model(job)
    page = new_context().new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("cora")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/jobs/{job.pk}/playground/")

    page.get_by_label("System prompt (optional)").fill("Answer with one colour.")
    page.get_by_label("Max new tokens").fill("3")
    page.get_by_label("Your message").fill("Name colour 1")
    page.get_by_role("button", name="Send").click()
    turns = page.locator("#conversation li")
    expect(turns).to_have_count(2)
    expect(turns.first).to_contain_text("Name colour 1")
    expect(page.get_by_label("Your message")).to_have_value("")
    first_answer = turns.nth(1).locator(".turn-text").inner_text()

    page.get_by_label("Your message").fill("And colour 2?")
    page.get_by_role("button", name="Send").click()
    expect(turns).to_have_count(4)
    sent = page.locator("#prompt-used")
    expect(sent).to_contain_text("System: Answer with one colour.\nUser: Name colour 1\n")
    expect(sent).to_contain_text("User: And colour 2?\nAssistant:")
    if first_answer != "(empty answer)":
        expect(sent).to_contain_text(f"Assistant: {first_answer}\n")
    shots(page).take("playground-chat")

    page.get_by_role("button", name="New conversation").click()
    expect(turns).to_have_count(0)
    expect(page.locator("#conversation-empty")).to_be_visible()
