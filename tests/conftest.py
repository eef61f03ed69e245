import os

# Nothing in the tests reaches the network, and tiny models run fastest on one thread.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

PASSWORD = "correct horse battery staple 42"


@pytest.fixture(autouse=True, scope="session")
def _hf_home(tmp_path_factory):
    os.environ.setdefault("HF_HOME", str(tmp_path_factory.mktemp("hf_home")))


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()


@pytest.fixture(autouse=True)
def _worker_scratch(settings, tmp_path):
    """Each test's worker keeps its tokenised-data cache to itself."""
    settings.WORKER_SCRATCH_DIR = tmp_path / "scratch"


@pytest.fixture(autouse=True)
def _throttles_off(settings):
    """Throttles are tested in tests/accounts/test_throttles.py, which sets the rates it needs;
    elsewhere one test client's many requests are not an attack to refuse."""
    settings.THROTTLE_RATES = dict.fromkeys(settings.THROTTLE_RATES)


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user("ada", "ada@example.com", PASSWORD)


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.com", PASSWORD)


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_user(
        "ops", "ops@example.com", PASSWORD, is_staff=True, is_superuser=True
    )


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def owner_api(owner):
    """An API client authenticated as `owner` with a real token."""
    from accounts.models import ApiToken

    _, key = ApiToken.issue(user=owner, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def other_api(other_user):
    from accounts.models import ApiToken

    _, key = ApiToken.issue(user=other_user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def qcluster(transactional_db, settings, tmp_path):
    """Start real `manage.py qcluster` processes against the test database (PostgreSQL only:
    another process cannot see SQLite's in-memory test database). start() returns a Popen in
    its own process group; every cluster still running is stopped at the end."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("a worker process needs a database it can share (PostgreSQL)")
    host = f"{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}"
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{host}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    env.update(Q_POLL_S="0.2", Q_SYNC="0")
    started = []

    def start(**extra_env):
        """extra_env: variables for this worker alone (WORKER_POOL, MEDIA_ROOT...)."""
        log = open(tmp_path / f"qcluster-{len(started)}.log", "wb")  # noqa: SIM115 (closed with the process)
        manage = Path(__file__).resolve().parent.parent / "manage.py"
        proc = subprocess.Popen(
            [sys.executable, str(manage), "qcluster"],
            env={**env, **extra_env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append((proc, log))
        return proc

    yield start
    for proc, log in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
