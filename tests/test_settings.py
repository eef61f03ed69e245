"""Settings come from the environment; a bad value stops start-up naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOOD_SECRET = "s" * 60
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x7!kP2#qL9@vR4$wZ8^mN3&bT6*cY1(hJ5)dF0-gS+e" + "uA2iO3pE4r",
    "ALLOWED_HOSTS": "tuner.example.com",
    "DATABASE_URL": "postgres://tuner:pw@db.example.com:5432/tuner",
}


def run_manage(env_overrides, *args):
    # Only the variables under test: the browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this
    # process, which the deploy check rightly refuses.
    unset = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "variable, value",
    [
        ("DEBUG", "maybe"),
        ("DATABASE_URL", "mysql://x/y"),
        ("DATABASE_URL", "postgres://host"),
        ("LOGIN_FAILURE_LIMIT", "five"),
        ("EMAIL_PORT", "0"),
        ("Q_WORKERS", "-1"),
        ("WORKER_PRICES_PER_HOUR", "cpu=cheap"),
        ("JOB_CHECKPOINTS_KEPT", "0"),
    ],
)
def test_an_invalid_value_stops_start_up_naming_the_variable(variable, value):
    result = run_manage({variable: value}, "check")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr.splitlines()[-1]


def test_production_without_a_secret_key_refuses_to_start():
    result = run_manage({**PRODUCTION, "SECRET_KEY": ""}, "check")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr.splitlines()[-1]


def test_production_settings_pass_the_deploy_check_without_warnings():
    result = run_manage(PRODUCTION, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr + result.stdout
    assert "WARNINGS" not in result.stderr + result.stdout


def test_database_url_parsing():
    from tunerproject.env import parse_database_url

    db = parse_database_url("postgres://u:p%40ss@db:6543/name?sslmode=require")
    assert (db["ENGINE"], db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "django.db.backends.postgresql",
        "name",
        "u",
        "p@ss",
        "db",
        "6543",
    )
    assert db["OPTIONS"] == {"sslmode": "require"}
    assert parse_database_url("sqlite:////tmp/x.db")["NAME"] == "/tmp/x.db"
