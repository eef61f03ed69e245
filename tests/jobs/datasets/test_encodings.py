"""Files in UTF-16 or Windows-1252 are read, with a note saying how; the choice can be forced."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from jobs.datasets import reader
from jobs.datasets.services import dataset_create

pytestmark = pytest.mark.django_db

WORDS = ["café crème", "naïve façade", "€ 5 price", "Ærø island", "smörgåsbord"]


@pytest.fixture(autouse=True)
def _small_minimum(settings):
    settings.DATASET_MIN_EXAMPLES = 3


def upload(owner, name, data, **kwargs):
    return dataset_create(owner=owner, upload=SimpleUploadedFile(name, data), name="", **kwargs)


def csv_text():
    return "text\r\n" + "".join(f"{word}\r\n" for word in WORDS)


def texts(dataset):
    return [example["text"] for example in reader.iter_examples(dataset)]


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"])
def test_a_utf16_file_with_a_byte_order_mark_is_read_and_noted(owner, codec):
    data = csv_text().encode(codec)
    if codec == "utf-16-be":
        data = b"\xfe\xff" + data
    dataset = upload(owner, "utf16.csv", data)
    assert dataset.is_valid, dataset.errors
    assert dataset.encoding == "utf-16"
    assert texts(dataset) == WORDS
    assert any("UTF-16" in note for note in dataset.notes)


def test_a_utf16_jsonl_and_json_array_are_read_too(owner):
    records = [{"prompt": word, "completion": "ok"} for word in WORDS]
    jsonl = "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n"
    assert upload(owner, "a.jsonl", jsonl.encode("utf-16")).is_valid
    dataset = upload(owner, "a.json", json.dumps(records, ensure_ascii=False).encode("utf-16"))
    assert dataset.is_valid
    assert [e["prompt"] for e in reader.iter_examples(dataset)] == WORDS


def test_a_windows_1252_file_is_read_as_such_with_a_note_on_choosing_another(owner):
    dataset = upload(owner, "excel.csv", csv_text().encode("cp1252"))
    assert dataset.is_valid, dataset.errors
    assert dataset.encoding == "windows-1252"
    assert texts(dataset) == WORDS
    (note,) = dataset.notes
    assert "Windows-1252" in note and "encoding" in note and "upload it again" in note


def test_the_encoding_can_be_forced_through_the_api(owner_api, owner):
    data = csv_text().encode("latin-1", errors="replace")
    response = owner_api.post(
        "/api/v1/datasets/",
        {"file": SimpleUploadedFile("l1.csv", data), "encoding": "latin-1"},
        format="multipart",
    )
    body = response.json()
    assert response.status_code == 201 and body["is_valid"], body
    assert body["encoding"] == "latin-1" and body["notes"] == [
        "The file was read as Latin-1 (ISO-8859-1), as you asked."
    ]
    assert texts(owner.datasets.get())[0] == "café crème"


def test_an_unknown_encoding_is_refused_naming_the_field(owner_api):
    response = owner_api.post(
        "/api/v1/datasets/",
        {"file": SimpleUploadedFile("a.csv", csv_text().encode()), "encoding": "ebcdic"},
        format="multipart",
    )
    assert response.status_code == 400
    assert "windows-1252" in response.json()["encoding"][0]


def test_the_portal_offers_the_encoding(owner_client, owner):
    response = owner_client.post(
        reverse("dataset-list"),
        {
            "file": SimpleUploadedFile("a.csv", csv_text().encode("cp1252")),
            "encoding": "windows-1252",
        },
    )
    assert response.status_code == 302
    page = owner_client.get(response["Location"]).content.decode()
    assert "as you asked" in page and "encoding windows-1252" in page


def test_utf8_needs_no_note_and_a_utf8_file_is_never_taken_for_windows_1252(owner):
    dataset = upload(owner, "a.csv", b"\xef\xbb\xbf" + csv_text().encode())
    assert dataset.is_valid and dataset.encoding == "utf-8" and dataset.notes == []
    assert texts(dataset) == WORDS
