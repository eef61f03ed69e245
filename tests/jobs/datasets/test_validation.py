"""Every bad input is caught at upload, with the line (or row) and the field it is in."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.datasets.services import dataset_create
from jobs.models import Dataset

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _small_minimum(settings):
    settings.DATASET_MIN_EXAMPLES = 3


def upload(owner, name, content, **kwargs):
    data = content if isinstance(content, bytes) else content.encode()
    return dataset_create(owner=owner, upload=SimpleUploadedFile(name, data), name="", **kwargs)


def jsonl(*records):
    return "\n".join(json.dumps(r) for r in records) + "\n"


def texts(count):
    return [{"text": f"example number {i}"} for i in range(count)]


def only_error(dataset):
    assert dataset.status == Dataset.Status.INVALID
    assert not dataset.is_valid
    return dataset.errors[0]


def test_a_clean_jsonl_file_is_valid(owner):
    dataset = upload(owner, "good.jsonl", jsonl(*texts(5)))
    assert dataset.status == Dataset.Status.VALID
    assert (dataset.kind, dataset.num_examples, dataset.errors, dataset.error_count) == (
        "text",
        5,
        [],
        0,
    )


def test_it_rejects_bytes_that_fit_no_encoding_and_names_the_line(owner):
    # 0x81 is neither UTF-8 nor Windows-1252 (a Latin-1 file is read: see test_encodings.py).
    content = b"text\nfine\nalso fine\n" + b"caf\x81\n" + b"last\n"
    error = only_error(upload(owner, "latin.csv", content))
    assert error["line"] == 4
    assert "not UTF-8" in error["message"]


def test_a_utf8_byte_order_mark_is_fine(owner):
    dataset = upload(owner, "bom.jsonl", b"\xef\xbb\xbf" + jsonl(*texts(3)).encode())
    assert dataset.is_valid
    dataset = upload(owner, "bom.csv", b"\xef\xbb\xbftext\none\ntwo\nthree\n")
    assert dataset.is_valid and dataset.column_mapping == {"text": "text"}


def test_it_rejects_a_line_that_is_not_json(owner):
    content = jsonl(*texts(3)) + '{"text": "unterminated\n' + jsonl(*texts(2))
    error = only_error(upload(owner, "broken.jsonl", content))
    assert error["line"] == 4
    assert "not valid JSON" in error["message"]


def test_it_rejects_a_json_value_that_is_not_an_object(owner):
    dataset = upload(owner, "mixed.jsonl", jsonl(*texts(3), ["a", "list"], "a string"))
    assert dataset.error_count == 2
    assert [(e["line"], e["field"]) for e in dataset.errors] == [(4, None), (5, None)]
    assert "JSON array, not an object" in dataset.errors[0]["message"]
    assert "JSON string, not an object" in dataset.errors[1]["message"]


def test_it_rejects_a_non_object_element_of_a_json_array(owner):
    content = "[\n" + ",\n".join(json.dumps(r) for r in texts(3)) + ",\n42\n]"
    error = only_error(upload(owner, "array.json", content))
    assert (error["line"], error["field"]) == (5, None)
    assert "JSON number" in error["message"]


def test_it_rejects_a_missing_field_and_an_empty_field(owner):
    records = [*texts(3), {"body": "no text field"}, {"text": "   "}]
    dataset = upload(owner, "fields.jsonl", jsonl(*records))
    assert [(e["line"], e["field"]) for e in dataset.errors] == [(4, "text"), (5, "text")]
    assert "missing" in dataset.errors[0]["message"]
    assert "empty" in dataset.errors[1]["message"]


def test_it_rejects_an_empty_completion_in_prompt_completion_pairs(owner):
    records = [{"prompt": f"Q{i}", "completion": f"A{i}"} for i in range(3)] + [
        {"prompt": "Q", "completion": ""}
    ]
    error = only_error(upload(owner, "pairs.jsonl", jsonl(*records)))
    assert (error["line"], error["field"]) == (4, "completion")


def chat(*turns):
    return {"messages": [{"role": role, "content": content} for role, content in turns]}


def test_it_rejects_an_unknown_role(owner):
    good = [chat(("user", "hi"), ("assistant", f"hello {i}")) for i in range(3)]
    bad = chat(("user", "hi"), ("bot", "hello"), ("assistant", "ok"))
    error = only_error(upload(owner, "chat.jsonl", jsonl(*good, bad)))
    assert (error["line"], error["field"]) == (4, "messages[1].role")
    assert "'bot'" in error["message"]


def test_it_rejects_a_chat_with_no_assistant_message(owner):
    good = [
        chat(("system", "be kind"), ("user", "hi"), ("assistant", f"hello {i}")) for i in range(3)
    ]
    error = only_error(upload(owner, "chat.jsonl", jsonl(chat(("user", "anyone?")), *good)))
    assert (error["line"], error["field"]) == (1, "messages")
    assert "no assistant message" in error["message"]


def test_it_rejects_a_csv_without_the_mapped_column(owner):
    content = "question,answer\nq1,a1\nq2,a2\nq3,a3\n"
    error = only_error(upload(owner, "qa.csv", content, column_mapping={"text": "body"}))
    assert (error["line"], error["field"]) == (1, "body")
    assert "'question', 'answer'" in error["message"]


def test_it_asks_for_a_mapping_when_the_csv_columns_say_nothing(owner):
    error = only_error(upload(owner, "qa.csv", "question,answer\nq1,a1\nq2,a2\nq3,a3\n"))
    assert error["line"] == 1
    assert "column mapping" in error["message"]


def test_a_column_mapping_overrides_detection(owner):
    content = 'question,answer\nq1,a1\n"q2\nwith a newline",a2\nq3,a3\n'
    dataset = upload(
        owner, "qa.csv", content, column_mapping={"prompt": "question", "completion": "answer"}
    )
    assert dataset.is_valid
    assert (dataset.kind, dataset.num_examples) == ("prompt_completion", 3)
    assert dataset.column_mapping == {"prompt": "question", "completion": "answer"}


def test_csv_rows_are_numbered_by_the_line_they_start_on(owner):
    content = 'text,id\n"first\nspans two lines",1\nsecond,2\n,3\nfourth,4\n'
    error = only_error(upload(owner, "rows.csv", content))
    assert (error["line"], error["field"]) == (5, "text")
    assert error["message"].startswith("Row 5")


@pytest.mark.parametrize("name", ["empty.txt", "empty.jsonl", "empty.csv", "empty.json"])
def test_it_rejects_an_empty_file(owner, name):
    error = only_error(upload(owner, name, b""))
    assert error["message"] == "The file is empty."


def test_it_rejects_fewer_examples_than_the_minimum(owner, settings):
    settings.DATASET_MIN_EXAMPLES = 10
    dataset = upload(owner, "few.jsonl", jsonl(*texts(4)))
    assert only_error(dataset)["message"] == "Only 4 valid examples: at least 10 are needed."
    assert dataset.num_examples == 4


def test_a_txt_file_with_one_example_per_line_is_told_that_blank_lines_separate_examples(
    owner, settings
):
    settings.DATASET_MIN_EXAMPLES = 10
    dataset = upload(owner, "lines.txt", "\n".join(f"line number {i}" for i in range(30)).encode())
    message = only_error(dataset)["message"]
    assert message.startswith("Only 1 valid example: at least 10 are needed.")
    assert "examples are separated by blank lines" in message


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("data.txt", b"hello\x00\x01\x02world" * 50, "binary content"),
        ("data.jsonl", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF document"),
        ("data.csv", b"PK\x03\x04\x14\x00\x06\x00", "ZIP archive"),
        ("data.txt", "hello".encode("utf-32"), "UTF-32"),
    ],
)
def test_it_rejects_binary_content(owner, name, content, expected):
    assert expected in only_error(upload(owner, name, content))["message"]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("data.json", jsonl(*texts(3)), "name it .jsonl"),
        ("data.jsonl", json.dumps(texts(3)), "name it .json"),
        ("data.jsonl", "text\nplain csv\n", "one JSON object"),
        ("data.csv", jsonl(*texts(3)), "name it .jsonl"),
        ("data.txt", json.dumps(texts(3)), "name it .json"),
    ],
)
def test_it_rejects_content_that_does_not_match_the_extension(owner, name, content, expected):
    error = only_error(upload(owner, name, content))
    assert expected in error["message"]
    assert error["line"] == 1


def test_it_lists_the_first_errors_and_counts_the_rest(owner):
    dataset = upload(owner, "many.jsonl", jsonl(*texts(3)) + "oops\n" * 50)
    assert dataset.error_count == 50
    assert len(dataset.errors) == 20
    assert [e["line"] for e in dataset.errors[:2]] == [4, 5]


def test_an_invalid_dataset_is_kept_with_its_report_and_cannot_be_used(owner):
    dataset = upload(owner, "broken.jsonl", jsonl(*texts(3)) + "oops\n")
    dataset.refresh_from_db()
    assert dataset.status == Dataset.Status.INVALID and dataset.error_count == 1
    assert dataset.file.storage.exists(dataset.file.name)
    assert not Dataset.objects.for_user(owner).usable().filter(pk=dataset.pk).exists()


def test_a_json_array_is_read_element_by_element(owner):
    content = (
        "["
        + ", ".join(json.dumps(chat(("user", f"q{i}"), ("assistant", f"a{i}"))) for i in range(4))
        + "]"
    )
    dataset = upload(owner, "chat.json", content)
    assert dataset.is_valid
    assert (dataset.kind, dataset.num_examples) == ("chat", 4)


def test_a_truncated_json_array_is_reported(owner):
    content = "[\n" + ",\n".join(json.dumps(r) for r in texts(4))
    error = only_error(upload(owner, "cut.json", content))
    assert "expected ',' or ']'" in error["message"]


def test_a_jsonl_line_nested_too_deeply_is_a_row_error_and_the_rest_is_checked(owner):
    deep = "[" * 100_000 + "]" * 100_000
    dataset = upload(owner, "deep.jsonl", jsonl(*texts(3)) + deep + "\n" + jsonl(*texts(1)))
    error = only_error(dataset)
    assert error["line"] == 4 and "deeply" in error["message"]
    assert dataset.error_count == 1 and dataset.num_examples == 4


def test_a_json_element_nested_too_deeply_is_a_row_error(owner):
    dataset = upload(owner, "deep.json", "[" + json.dumps(texts(3))[1:-1] + ", " + "[" * 100_000)
    error = only_error(dataset)
    assert "deeply" in error["message"]


def test_a_field_name_with_a_nul_character_is_a_row_error(owner):
    # PostgreSQL cannot store a NUL in the report; the upload must not become a server error.
    dataset = upload(owner, "nul.jsonl", '{"te\\u0000xt": "x"}\n' + jsonl(*texts(3)))
    error = only_error(dataset)
    assert error["line"] == 1 and "NUL" in error["message"]
    assert dataset.num_examples == 3


def test_a_column_mapping_with_a_nul_character_is_refused_by_the_api(owner_api):
    response = owner_api.post(
        "/api/v1/datasets/",
        {
            "file": SimpleUploadedFile("a.jsonl", jsonl(*texts(3)).encode()),
            "column_mapping": json.dumps({"text": "te\u0000xt"}),
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert "NUL" in response.json()["column_mapping"][0]
