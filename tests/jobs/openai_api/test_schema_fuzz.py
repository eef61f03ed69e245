"""Schemathesis over /openai/v1/openapi.json: every operation of the OpenAI-compatible API,
authenticated with a Bearer token, generated requests. No answer may be a 5xx or contradict the
document (status code, content type, headers, body shape, each streamed event included).

Generated ids and model names rarely exist, so a request that names one is sent a second time
naming the caller's own: a file, a succeeded job whose tiny model the in-process inference pool
runs (completions and chat completions, whole and streamed), builtin-tiny to launch from, and a
real JSONL file to upload. Whether a schema-valid request is accepted is not checked: it may
break a rule the document cannot state (a batch size over the dataset's rows), and a 400 is
then the right answer.
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import ApiToken
from jobs.openai_api.shaping import model_name
from tests.jobs.factories import add_history, give_tiny_model, make_dataset, make_job
from tests.jobs.openai_api.conftest import CHAT_ROWS, jsonl
from tunerproject.wsgi import application

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# 17 operations x 5, plus the boundary values and wrong methods schemathesis tries for each:
# about 2,300 requests. More by hand: SCHEMA_FUZZ_EXAMPLES=100 pytest <this file>
EXAMPLES_PER_OPERATION = int(os.environ.get("SCHEMA_FUZZ_EXAMPLES", "5"))


@pytest.fixture(autouse=True)
def keep_test_connection(db):
    """Requests run in this thread on the test's own connection, inside its transaction, as the
    test client's do: Django must not close that connection at the end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def account(owner):
    """The caller's token and real objects: a file and a succeeded job with a tiny model."""
    dataset = make_dataset(owner)
    job = make_job(owner, dataset)
    add_history(job)
    give_tiny_model(job)
    _, key = ApiToken.issue(user=owner, name="schemathesis")
    return {
        "headers": {"Authorization": f"Bearer {key}"},
        "file_id": f"file-{dataset.pk}",
        "job_id": f"ftjob-{job.pk}",
        "model_id": model_name(job),
    }


def with_real_objects(case, account):
    """Name the caller's own objects where the case names any; False if it names none."""
    changed = False
    for name in case.path_parameters or {}:
        case.path_parameters[name] = account[name]
        changed = True
    body = case.body if isinstance(case.body, dict) else {}
    if case.path == "/files" and "file" in body:
        body["file"] = jsonl(CHAT_ROWS)
        changed = True
    if "model" in body:
        launch = case.path == "/fine_tuning/jobs"
        body["model"] = "builtin-tiny" if launch else account["model_id"]
        changed = True
    for name in ("training_file", "validation_file"):
        if isinstance(body.get(name), str):
            body[name] = account["file_id"]
            changed = True
    return changed


def call(case, account):
    """One request whose writes are rolled back, so every case meets the same objects: the file
    is never deleted, and launches do not pile up against the queued-jobs quota."""
    with transaction.atomic():
        case.call_and_validate(headers=account["headers"], checks=CHECKS)
        transaction.set_rollback(True)


# Loaded at collection: serving the document reads no database.
schema = schemathesis.openapi.from_wsgi("/openai/v1/openapi.json", application)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_operation_answers_5xx_or_off_schema(case, account):
    call(case, account)
    if with_real_objects(case, account):
        call(case, account)


def test_the_document_is_public_and_other_methods_get_an_openai_405(client):
    # Schemathesis leaves out the operation that serves the document it was loaded from.
    document = client.get("/openai/v1/openapi.json").json()
    assert document["openapi"].startswith("3.1") and "/chat/completions" in document["paths"]
    refused = client.post("/openai/v1/openapi.json")
    assert refused.status_code == 405 and refused.json()["error"]["message"]
