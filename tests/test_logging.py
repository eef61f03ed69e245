"""What the logs say about refused requests: a 403 or 404 is one line, a 500 keeps its
traceback."""

import logging

import pytest

from tests.jobs.factories import make_job
from tests.teams_fixtures import make_team, make_user

pytestmark = pytest.mark.django_db


def test_a_portal_403_is_one_line_without_a_traceback(owner, client, django_user_model, caplog):
    vic = make_user(django_user_model, "vic")
    team = make_team(owner, name="Lab", viewer=vic)
    job = make_job(owner, team=team, status="running")
    client.force_login(vic)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        answer = client.post(f"/jobs/{job.pk}/cancel/")
    assert answer.status_code == 403
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.getMessage() == f"Forbidden (Permission denied): /jobs/{job.pk}/cancel/"
    assert record.exc_info is None and "Traceback" not in caplog.text


def test_the_filter_keeps_a_server_errors_traceback():
    from tunerproject.log_filters import ClientErrorsWithoutTraceback

    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        exc_info = sys.exc_info()
    record = logging.LogRecord("django.request", logging.ERROR, "", 0, "x", (), exc_info)
    record.status_code = 500
    assert ClientErrorsWithoutTraceback().filter(record) and record.exc_info is exc_info
    record.status_code = 404
    assert ClientErrorsWithoutTraceback().filter(record) and record.exc_info is None
