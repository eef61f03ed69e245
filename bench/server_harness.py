"""What the benchmarks share about the web server they start: a production-like environment
(set both in the bench, where sessions and tokens are made, and in the server that checks them)
and waiting for it to answer /healthz (or giving up and stopping it)."""

import http.client
import time


def server_env(secret_letter, **extra):
    """DEBUG off, quiet logs, one torch thread, nothing from the network; `secret_letter` makes
    each bench's SECRET_KEY its own."""
    return {
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + secret_letter * 60,
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "ERROR",
        "WEB_ACCESS_LOG": "/dev/null",
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        **extra,
    }


def wait_until_healthy(server, port, *, seconds=30, log="its output"):
    """Return once 127.0.0.1:port/healthz answers 200; kill `server` and exit if it never does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.kill()
    raise SystemExit(f"The server did not start; see {log}")
