"""Alpaca and ShareGPT files in a real browser: the format is named and the preview shows the
template the model will be trained on; a file with a bad row is kept when asked to skip it."""

import json

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long test password 93"

DROP_FILE = """([text, name]) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File([text], name, {type: 'application/octet-stream'}));
  const zone = document.getElementById('drop-zone');
  const init = {dataTransfer: transfer, bubbles: true, cancelable: true};
  zone.dispatchEvent(new DragEvent('drop', init));
}"""


@pytest.fixture
def page(new_context, live_server, django_user_model):
    django_user_model.objects.create_user("alma", "alma@example.com", PASSWORD)
    page = new_context().new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("alma")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/datasets/")
    return page


def jsonl(rows):
    return "\n".join(json.dumps(r) for r in rows) + "\n"


def alpaca_rows():
    return [
        {
            "instruction": f"Translate word {i} to French.",
            "input": f"cheese {i}",
            "output": "fromage",
        }
        for i in range(12)
    ]


def sharegpt_rows():
    return [
        {
            "system": "Answer briefly.",
            "conversations": [
                {"from": "human", "value": f"What is {i} + {i}?"},
                {"from": "gpt", "value": str(2 * i)},
            ],
        }
        for i in range(12)
    ]


def upload(page, text, name, *, skip=False):
    page.evaluate(DROP_FILE, [text, name])
    expect(page.locator("#file-chosen")).to_contain_text(name)
    if skip:
        page.get_by_label("Skip invalid rows").check()
    page.get_by_role("button", name="Upload and validate").click()
    expect(page.get_by_role("heading", name=name.rsplit(".", 1)[0])).to_be_visible(timeout=60_000)


def test_an_alpaca_file_is_named_and_previewed_with_its_input_in_the_prompt(
    page, shots, live_server
):
    upload(page, jsonl(alpaca_rows()), "alpaca_words.jsonl")
    expect(page.locator(".badge.valid")).to_be_visible()
    expect(page.locator("#ds-format")).to_have_text("Alpaca instructions")
    first = page.locator(".ds-example").first
    expect(first.locator(".seg.context")).to_have_text(
        "### Instruction:\nTranslate word 0 to French.\n\n### Input:\ncheese 0\n\n### Response:\n"
    )
    expect(first.locator(".seg.loss")).to_have_text("fromage<|endoftext|>")
    expect(page.locator("#ds-template")).to_contain_text("### Instruction:")
    shots(page).take("dataset-alpaca")
    page.goto(f"{live_server.url}/datasets/")
    expect(page.locator("td[data-label=Format]").first).to_have_text("Alpaca instructions")


def test_a_sharegpt_file_is_read_as_chat_with_its_system_prompt(page, shots):
    upload(page, jsonl(sharegpt_rows()), "sharegpt_sums.jsonl")
    expect(page.locator("#ds-format")).to_have_text("ShareGPT conversations")
    first = page.locator(".ds-example pre").first
    expect(first).to_have_text(
        "System: Answer briefly.\nUser: What is 0 + 0?\nAssistant: 0\n<|endoftext|>"
    )
    expect(first.locator(".seg.loss")).to_have_text("0\n<|endoftext|>")
    shots(page).take("dataset-sharegpt")


def test_skipping_invalid_rows_keeps_the_file_and_lists_the_bad_row(page, shots):
    page.get_by_text("Column mapping and encoding (optional)").click()
    expect(page.get_by_label("Conversations column (ShareGPT)")).to_be_visible()
    shots(page).take("datasets-upload-options")
    rows = alpaca_rows()
    rows[4] = {"instruction": "No output here."}
    upload(page, jsonl(rows), "alpaca_one_bad.jsonl", skip=True)
    expect(page.locator(".badge.valid")).to_be_visible()
    skipped = page.locator(".ds-skipped")
    expect(skipped).to_contain_text("1 invalid row skipped")
    expect(skipped.locator("td[data-label=Line]")).to_have_text("5")
    expect(skipped).to_contain_text("output")
    shots(page).take("dataset-skipped-rows")


def test_the_wizard_upload_box_takes_a_column_mapping(page, live_server, tmp_path, shots):
    rows = [{"task": f"Say {i}.", "answer": f"{i}"} for i in range(12)]
    path = tmp_path / "renamed.jsonl"
    path.write_text(jsonl(rows))
    page.goto(f"{live_server.url}/jobs/new/")
    page.set_input_files("#upload-file", str(path))
    page.get_by_text("Column mapping and encoding (optional)").click()
    page.get_by_label("Column mapping").fill('{"instruction": "task", "output": "answer"}')
    shots(page).take("wizard-upload-mapping")
    page.get_by_role("button", name="Upload and validate").click()
    status = page.locator("#upload-status")
    expect(status).to_contain_text("Uploaded", timeout=60_000)
    expect(status).to_contain_text("alpaca")
    expect(page.locator("#id_dataset option:checked")).to_contain_text("renamed")
