import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_healthz_answers_200_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_answers_503_when_the_database_does_not():
    # A separate process whose database is a closed port: nothing is faked.
    script = (
        "import django; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/healthz'); print(r.status_code); print(r.content.decode())"
    )
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://nobody@127.0.0.1:9/none?connect_timeout=2",
        "DJANGO_SETTINGS_MODULE": "tunerproject.settings",
    }
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    status, body = out.stdout.strip().split("\n", 1)
    assert status == "503", out.stderr
    assert json.loads(body) == {"status": "error", "database": "unavailable"}  # no server details


@pytest.mark.django_db
def test_the_admin_is_for_staff_only(client, owner, operator):
    client.force_login(owner)
    assert client.get("/admin/").status_code == 302
    client.force_login(operator)
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/admin/accounts/apitoken/",
        "/admin/accounts/failedlogin/",
        "/admin/jobs/dataset/",
        "/admin/jobs/basemodel/",
        "/admin/jobs/job/",
        "/admin/jobs/jobevent/",
        "/admin/jobs/metricpoint/",
        "/admin/jobs/checkpoint/",
        "/admin/jobs/evaluation/",
        "/admin/auth/user/",
    ],
)
def test_every_model_has_an_admin_list_with_search(client, operator, url):
    client.force_login(operator)
    response = client.get(url, {"q": "anything"})
    assert response.status_code == 200
