"""Limits that hold when requests arrive at once, on PostgreSQL: each check and its effect are
one step (the owner's row lock for quotas, one counting statement for throttles)."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import RequestFactory

from accounts.throttles import wait_seconds
from jobs.datasets.services import dataset_create
from jobs.models import Dataset, Job
from jobs.training.services import job_launch
from tests.jobs.factories import make_dataset

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("threads need a database they can share with row locks (PostgreSQL)")


def at_once(count, work):
    """Run work(i) in `count` threads released together; [(result, error)] in order."""
    start, results = threading.Barrier(count), [None] * count

    def run(i):
        start.wait()
        try:
            results[i] = (work(i), None)
        except Exception as exc:  # noqa: BLE001 (the test reads each outcome)
            results[i] = (None, exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_fifteen_launches_at_once_against_ten_queued_accept_exactly_ten(owner, settings):
    settings.USER_MAX_QUEUED_JOBS = 10
    dataset = make_dataset(owner)
    results = at_once(
        15,
        lambda i: job_launch(
            owner=owner, name=f"run {i}", dataset=dataset, base_model_key="builtin-tiny"
        ),
    )
    refused = [error for _, error in results if error is not None]
    assert Job.objects.filter(owner=owner).count() == 10
    assert len(refused) == 5
    assert all(isinstance(e, ValidationError) and "USER_MAX_QUEUED_JOBS" in str(e) for e in refused)


def test_five_uploads_at_once_with_room_for_two_accept_two(owner, settings):
    settings.USER_STORAGE_QUOTA_MB = 1
    line = b"The quick brown fox jumps over the lazy dog again and again.\n\n"
    body = line * (400 * 1024 // len(line))  # about 400 KB: two fit in 1 MB, three do not

    def upload(i):
        return dataset_create(
            owner=owner, upload=SimpleUploadedFile(f"f{i}.txt", body), name=f"f{i}"
        )

    results = at_once(5, upload)
    refused = [error for _, error in results if error is not None]
    assert Dataset.objects.filter(owner=owner).count() == 2
    assert len(refused) == 3 and all("storage quota" in str(e) for e in refused)


def test_a_throttle_counts_concurrent_requests_exactly(owner, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "generate_user": "30/day"}
    settings.THROTTLE_RATES["generate_ip"] = None

    def ask(i):
        request = RequestFactory().post("/openai/v1/completions", REMOTE_ADDR="203.0.113.9")
        request.user = owner
        return wait_seconds(request, "generate")

    results = at_once(41, ask)
    allowed = [wait for wait, error in results if error is None and wait is None]
    assert not [error for _, error in results if error is not None]
    assert len(allowed) == 30
