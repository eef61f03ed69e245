"""Uploading through the API and the portal: storage, limits, quota, statistics, the sample."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from jobs.datasets.services import SAMPLE_PATH
from jobs.models import Dataset

pytestmark = pytest.mark.django_db

WORDS = "one two three four five six seven eight nine ten".split()


@pytest.fixture(autouse=True)
def _small_minimum(settings):
    settings.DATASET_MIN_EXAMPLES = 3


def known_text():
    """Paragraphs of 1..10 tokens, one duplicate of the 3-token one, and one of 1100 tokens."""
    paragraphs = [" ".join(WORDS[:n]) for n in range(1, 11)]
    paragraphs += ["one two three", " ".join(["x"] * 1100)]
    return "\n\n".join(paragraphs) + "\n"


def jsonl(*records):
    return "\n".join(json.dumps(r) for r in records) + "\n"


def post_file(client, filename, content, **data):
    payload = content if isinstance(content, bytes) else content.encode()
    return client.post(
        "/api/v1/datasets/",
        {"file": SimpleUploadedFile(filename, payload), **data},
        format="multipart",
    )


def test_an_api_upload_returns_the_report_and_exact_statistics(owner_api):
    response = post_file(owner_api, "known.txt", known_text(), name="Known")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "Known" and body["original_filename"] == "known.txt"
    assert (body["format"], body["kind"], body["status"], body["is_valid"]) == (
        "txt",
        "text",
        "valid",
        True,
    )
    assert (body["num_examples"], body["total_tokens"]) == (12, 55 + 3 + 1100)
    assert body["size_bytes"] == len(known_text().encode())
    stats = body["stats"]
    assert (stats["mean_tokens"], stats["p95_tokens"], stats["max_tokens"]) == (96.5, 1100, 1100)
    assert stats["duplicates"] == 1
    assert stats["context_length"] == 1024
    assert stats["truncated_share"] == round(1 / 12, 4)
    assert stats["histogram"][0] == {"start": 0, "end": 99, "count": 11}
    assert stats["histogram"][-1] == {"start": 1100, "end": 1199, "count": 1}
    assert sum(b["count"] for b in stats["histogram"]) == 12
    assert (body["errors"], body["error_count"], body["errors_not_shown"]) == ([], 0, 0)
    assert body["preview_url"].endswith(f"/api/v1/datasets/{body['id']}/preview/")
    assert body["download_url"].endswith(f"/api/v1/datasets/{body['id']}/download/")


def test_prompt_completion_tokens_are_counted_with_the_template(owner_api):
    records = [{"prompt": "Hello", "completion": "world"}] * 2 + [
        {"prompt": "Hello ", "completion": "world"}
    ]
    body = post_file(owner_api, "pairs.jsonl", jsonl(*records)).json()
    # "Hello\n" + "world<|endoftext|>" is 4 tokens; "Hello " + "world<|endoftext|>" is 3
    # ("Hello", " world", end of text): no newline is added when the prompt ends with a space.
    assert (body["kind"], body["num_examples"], body["total_tokens"]) == (
        "prompt_completion",
        3,
        11,
    )
    assert body["stats"]["duplicates"] == 1


def test_an_api_upload_accepts_a_column_mapping_as_json(owner_api):
    content = "question,answer\nq1,a1\nq2,a2\nq3,a3\n"
    mapping = json.dumps({"prompt": "question", "completion": "answer"})
    body = post_file(owner_api, "qa.csv", content, column_mapping=mapping).json()
    assert (body["status"], body["kind"]) == ("valid", "prompt_completion")


def test_an_invalid_upload_is_created_with_its_errors(owner_api):
    content = jsonl(*[{"text": f"t{i}"} for i in range(3)]) + "oops\n" * 25
    response = post_file(owner_api, "bad.jsonl", content)
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["is_valid"], body["error_count"], body["errors_not_shown"]) == (
        "invalid",
        False,
        25,
        5,
    )
    assert body["errors"][0] == {"line": 4, "field": None, "message": body["errors"][0]["message"]}


def test_an_unknown_extension_is_refused_with_a_field_error(owner_api):
    response = post_file(owner_api, "sheet.xlsx", b"whatever")
    assert response.status_code == 400
    assert "not supported" in response.json()["file"][0]
    assert not Dataset.objects.exists()


def test_a_bad_column_mapping_is_refused(owner_api):
    response = post_file(owner_api, "a.csv", "a,b\n1,2\n", column_mapping='{"question": "a"}')
    assert response.status_code == 400
    assert "column_mapping" in response.json()


def test_a_file_over_the_size_limit_is_refused(owner_api, settings):
    settings.DATASET_MAX_UPLOAD_MB = 1
    response = post_file(owner_api, "big.txt", b"a" * (1024 * 1024 + 1))
    assert response.status_code == 400
    assert response.json()["file"] == ["The file is 1.0 MB; the limit is 1 MB per file."]
    assert not Dataset.objects.exists()


def test_an_api_upload_far_over_the_limit_is_refused_from_its_length(owner_api, settings):
    settings.DATASET_MAX_UPLOAD_MB = 1
    response = post_file(owner_api, "big.txt", b"a" * (3 * 1024 * 1024))
    assert response.status_code == 400
    assert response.json()["file"][0].startswith("The upload is 3.0 MB; the limit is 1 MB")
    assert not Dataset.objects.exists()


def test_an_upload_over_the_storage_quota_is_refused(owner_api, other_api, settings):
    settings.USER_STORAGE_QUOTA_MB = 1
    half = ("word " * 110_000 + "\n\n") * 1  # about 550 kB
    assert post_file(owner_api, "first.txt", half * 1).status_code == 201
    response = post_file(owner_api, "second.txt", half)
    assert response.status_code == 400
    assert "storage quota" in response.json()["file"][0]
    assert "Delete datasets" in response.json()["file"][0]
    # The quota is per user: someone else still has room.
    assert post_file(other_api, "theirs.txt", half).status_code == 201


def test_deleting_a_dataset_frees_quota(owner_api, settings):
    settings.USER_STORAGE_QUOTA_MB = 1
    half = "word " * 110_000 + "\n"
    first = post_file(owner_api, "first.txt", half).json()
    assert owner_api.delete(f"/api/v1/datasets/{first['id']}/").status_code == 204
    assert post_file(owner_api, "second.txt", half).status_code == 201


def test_the_file_is_stored_under_a_generated_name(owner_api, owner, settings):
    body = post_file(owner_api, "../../etc/passwd.txt", known_text()).json()
    dataset = Dataset.objects.get(pk=body["id"])
    assert dataset.original_filename == "passwd.txt"
    assert dataset.file.name.startswith(f"datasets/{owner.pk}/")
    assert "passwd" not in dataset.file.name
    stored = settings.MEDIA_ROOT / dataset.file.name
    assert stored.read_bytes() == known_text().encode()


def test_the_api_lists_only_your_datasets(owner_api, other_api):
    post_file(owner_api, "mine.txt", known_text())
    post_file(other_api, "theirs.txt", known_text())
    body = owner_api.get("/api/v1/datasets/").json()
    assert [d["original_filename"] for d in body["results"]] == ["mine.txt"]


def test_the_portal_upload_by_xhr_answers_with_the_detail_url(client, owner, password):
    client.login(username=owner.username, password=password)
    upload = SimpleUploadedFile("known.txt", known_text().encode())
    response = client.post(
        reverse("dataset-list"), {"file": upload, "name": "Mine"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 201
    dataset = Dataset.objects.get()
    assert response.json()["url"] == reverse("dataset-detail", args=[dataset.pk])
    assert dataset.name == "Mine" and dataset.is_valid


def test_the_portal_upload_without_javascript_redirects_or_shows_the_error(client, owner, password):
    client.login(username=owner.username, password=password)
    good = SimpleUploadedFile("known.txt", known_text().encode())
    response = client.post(reverse("dataset-list"), {"file": good})
    assert response.status_code == 302
    bad = SimpleUploadedFile("notes.pdf", b"%PDF-1.4")
    response = client.post(reverse("dataset-list"), {"file": bad})
    assert response.status_code == 400
    assert "are not supported" in response.content.decode()


def test_the_portal_column_boxes_become_a_mapping(client, owner, password):
    client.login(username=owner.username, password=password)
    upload = SimpleUploadedFile("qa.csv", b"q,a\nq1,a1\nq2,a2\nq3,a3\n")
    data = {"file": upload, "prompt_column": "q", "completion_column": "a"}
    client.post(reverse("dataset-list"), data, HTTP_ACCEPT="application/json")
    assert Dataset.objects.get().kind == "prompt_completion"


def test_the_upload_page_offers_a_keyboard_reachable_file_input_and_the_sample(
    client, owner, password
):
    client.login(username=owner.username, password=password)
    page = client.get(reverse("dataset-list")).content.decode()
    assert 'type="file" name="file" id="id_file"' in page
    assert '<label for="id_file"' in page
    assert "Try the sample dataset" in page
    assert "js/upload.js" in page and "<script>" not in page


def test_the_sample_button_creates_a_valid_shakespeare_dataset(client, owner, password):
    client.login(username=owner.username, password=password)
    response = client.post(reverse("dataset-sample"))
    dataset = Dataset.objects.get(owner=owner)
    assert response.status_code == 302 and response.url == reverse(
        "dataset-detail", args=[dataset.pk]
    )
    assert dataset.is_valid and dataset.kind == "text" and dataset.format == "txt"
    assert dataset.size_bytes == SAMPLE_PATH.stat().st_size
    assert 900_000 < dataset.size_bytes < 1_100_000
    assert dataset.num_examples > 5000
    page = client.get(response.url).content.decode()
    assert "HAMLET" in page  # the preview shows the first example
    # A second click leads to the same dataset instead of filling the quota with copies.
    assert client.post(reverse("dataset-sample")).url == response.url
    assert Dataset.objects.filter(owner=owner).count() == 1


def test_the_detail_page_shows_figures_chart_errors_and_preview(client, owner, password):
    client.login(username=owner.username, password=password)
    bad = SimpleUploadedFile(
        "bad.jsonl", (jsonl(*[{"text": f"t{i}"} for i in range(3)]) + "oops\n").encode()
    )
    client.post(reverse("dataset-list"), {"file": bad})
    page = client.get(reverse("dataset-detail", args=[Dataset.objects.get().pk])).content.decode()
    assert "1 problem found" in page
    assert '<td data-label="Line">4</td>' in page
    assert "<svg" in page and "<rect" in page
    assert 'class="seg loss"' in page


def test_an_empty_upload_is_refused_at_the_door(owner_api):
    response = post_file(owner_api, "empty.jsonl", b"")
    assert response.status_code == 400
    assert "empty" in response.json()["file"][0]
