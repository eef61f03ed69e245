"""A live server, the official `openai` client pointed at it, and a real inference process."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHAT_ROWS = [
    {
        "messages": [
            {"role": "user", "content": f"Colour of thing {i}?"},
            {"role": "assistant", "content": "red"},
        ]
    }
    for i in range(40)
]


def jsonl(rows):
    return "\n".join(json.dumps(row) for row in rows).encode()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def token_for():
    from accounts.models import ApiToken

    def issue(user):
        return ApiToken.issue(user=user, name="openai client")[1]

    return issue


@pytest.fixture
def openai_for(live_server, token_for):
    """An official client for a user; no retries, so each error is seen as the server sent it."""
    import openai

    def make(user, **options):
        return openai.OpenAI(
            base_url=f"{live_server.url}/openai/v1",
            api_key=token_for(user),
            max_retries=0,
            timeout=120,
            **options,
        )

    return make


@pytest.fixture
def inference_server(settings, tmp_path):
    """Start `manage.py inference` (limits from `env`); the live server sends generation there."""
    started = []

    def start(**env):
        port = free_port()
        log = open(tmp_path / "inference.log", "wb")  # noqa: SIM115 (closed with the process)
        manage = Path(__file__).resolve().parents[3] / "manage.py"
        proc = subprocess.Popen(
            [sys.executable, str(manage), "inference", "--address", f"127.0.0.1:{port}"],
            env={**os.environ, **{k: str(v) for k, v in env.items()}},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append((proc, log))
        _wait_until_listening(port, proc, tmp_path / "inference.log")
        settings.INFERENCE_ADDRESS = f"127.0.0.1:{port}"
        return proc

    yield start
    for proc, log in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        log.close()


def _wait_until_listening(port, proc, log_path):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"inference exited: {log_path.read_text()}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the inference process never listened")


def wait_for(condition, timeout, every=0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    return None
