"""Dataset pages in a real browser: drop a file, watch it upload, read the report; the sample."""

import json

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long test password 93"

DROP_FILE = """(text) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File([text], 'dropped_chat.jsonl', {type: 'application/jsonl'}));
  const zone = document.getElementById('drop-zone');
  const init = {dataTransfer: transfer, bubbles: true, cancelable: true};
  zone.dispatchEvent(new DragEvent('drop', init));
}"""


@pytest.fixture
def page(new_context, live_server, django_user_model):
    django_user_model.objects.create_user("dora", "dora@example.com", PASSWORD)
    page = new_context().new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("dora")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/datasets/")
    return page


def chat_lines():
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"Q{i}?"},
                {"role": "assistant", "content": f"A{i}."},
            ]
        }
        for i in range(12)
    ]
    rows[3]["messages"][1]["role"] = "bot"
    return "\n".join(json.dumps(r) for r in rows) + "\n"


def test_a_dropped_file_uploads_and_its_report_names_the_bad_line(page, shots):
    shots(page).take("datasets-upload")
    page.evaluate(DROP_FILE, chat_lines())
    expect(page.locator("#file-chosen")).to_contain_text("dropped_chat.jsonl")
    page.get_by_role("button", name="Upload and validate").click()
    expect(page.get_by_role("heading", name="dropped_chat")).to_be_visible(timeout=60_000)
    errors = page.locator(".ds-errors")
    expect(errors).to_contain_text("1 problem found")
    expect(errors.locator("td[data-label=Line]")).to_have_text("4")
    expect(errors).to_contain_text("messages[1].role")
    expect(page.locator(".ds-example .seg.loss").first).to_have_text("A0.\n<|endoftext|>")
    shots(page).take("datasets-invalid")


def test_the_sample_button_gives_a_valid_dataset_with_a_chart(page, shots):
    page.get_by_role("button", name="Try the sample dataset").click()
    expect(page.get_by_role("heading", name="Shakespeare: eight plays (sample)")).to_be_visible(
        timeout=60_000
    )
    expect(page.locator(".badge.valid")).to_be_visible()
    expect(page.locator(".ds-chart rect").first).to_be_attached()
    shots(page).take("datasets-sample")
