"""Schemathesis over /api/v1/schema/: every operation, authenticated, generated requests, with
every check that applies to one request: no 5xx, nothing the schema does not say (status code,
content type, headers, body shape), a schema-valid request accepted (2xx, or 401/403/404/409/429:
a request naming only things that do not exist is a 404, tunerproject.api) and a schema-invalid
one refused, a missing token refused, an unsupported method a 405 with its Allow header.

Two exceptions, held to the response checks only: the dataset upload, a multipart form whose
`file` part schemathesis fills with generated text rather than a file, and whose column mapping
is a JSON text the schema cannot describe exactly; and a webhook's registration, accepted or not
by what its URL's host resolves to."""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from accounts.models import ApiToken
from tests.jobs.factories import add_history, give_tiny_model, make_dataset, make_job
from tunerproject.wsgi import application

RESPONSE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
CHECKS = [
    *RESPONSE_CHECKS,
    positive_data_acceptance,
    negative_data_rejection,
    missing_required_header,
    unsupported_method,
    allow_header_conformance,
    ignored_auth,
]
RESPONSE_ONLY = {
    ("POST", "/api/v1/datasets/"),  # see the docstring
    # Whether a webhook URL is accepted depends on what its host resolves to (a private
    # address is refused), which no schema can state.
    ("POST", "/api/v1/webhooks/"),
}
# 22 operations x 10: a few hundred requests in the normal run; more by hand, for example
# SCHEMA_FUZZ_EXAMPLES=300 pytest tests/api/test_schema_fuzz.py
EXAMPLES_PER_OPERATION = int(os.environ.get("SCHEMA_FUZZ_EXAMPLES", "10"))


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
    """The caller's token and real objects: a dataset and a succeeded job with a tiny model."""
    dataset = make_dataset(owner)
    job = make_job(owner, dataset)
    add_history(job)
    give_tiny_model(job)
    _, key = ApiToken.issue(user=owner, name="schemathesis")
    return {"headers": {"Authorization": f"Token {key}"}, "jobs": job.pk, "datasets": dataset.pk}


def real_id(case, account):
    """One of the caller's own objects for a path with an id: generated ids rarely exist, and
    the code past the 404 deserves the same scrutiny."""
    if "id" not in (case.path_parameters or {}):
        return None
    return account["jobs" if case.path.startswith("/api/v1/jobs/") else "datasets"]


# Loaded at collection: serving the schema reads no database.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_operation_answers_5xx_or_off_schema(case, account):
    checks = RESPONSE_CHECKS if (case.method, case.path) in RESPONSE_ONLY else CHECKS
    case.call_and_validate(headers=account["headers"], checks=checks)
    own = real_id(case, account)
    if own is not None:
        # The case's record of what it made invalid no longer holds with a real id in its path:
        # only the answer's conformance is checked.
        case.path_parameters["id"] = own
        case.call_and_validate(headers=account["headers"], checks=RESPONSE_CHECKS)
