"""Wait for a web server the benchmarks started to answer /healthz (or give up and stop it)."""

import http.client
import time


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
