"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server, with
a real `manage.py qcluster` worker process training the jobs."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
WIDTHS = {"phone": 390, "desktop": 1280}


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """A SQLite test database must be a file (not memory) for the worker process to open it."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        database.setdefault("TEST", {})["NAME"] = str(
            tmp_path_factory.mktemp("e2e-db") / "test.sqlite3"
        )


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)"
        )
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; the database set-up and
    # the tests' own ORM reads are ordinary blocking calls, which Django refuses in a running loop.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def _database_url():
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(request, live_server, settings, tmp_path):
    """One real qcluster process on the test database and the test's MEDIA_ROOT.

    PostgreSQL: the shared `qcluster` fixture. SQLite: the same, on the file database above,
    which only exists when the browser tests run on their own (pytest tests/e2e).
    """
    url = _database_url()
    if url.startswith("postgres"):
        return request.getfixturevalue("qcluster")()
    if "memory" in url:
        pytest.skip(
            "the SQLite test database is in memory, where a worker process cannot see it: run "
            "the browser tests on PostgreSQL (DATABASE_URL) or on their own (pytest tests/e2e)"
        )
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "Q_POLL_S": "0.2",
    }
    log = (tmp_path / "qcluster.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    request.addfinalizer(lambda: _stop(process, log))
    return process


def _stop(process, log):
    # SIGTERM to the cluster's main process lets it stop its workers cleanly.
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


@pytest.fixture
def new_context(browser):
    """Browser contexts (separate cookie jars) that are closed even when the test fails."""
    contexts = []

    def make(**options):
        contexts.append(browser.new_context(**options))
        return contexts[-1]

    yield make
    for context in contexts:
        context.close()


class Shots:
    """Saves each page at phone and desktop width: test-artifacts/screenshots/<name>-<width>.png."""

    def __init__(self, page):
        self.page = page
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(self, name):
        for label, width in WIDTHS.items():
            self.page.set_viewport_size({"width": width, "height": 900})
            time.sleep(0.3)  # let the charts redraw for the new width
            self.page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
        self.page.set_viewport_size({"width": WIDTHS["desktop"], "height": 900})


@pytest.fixture
def shots():
    return Shots
