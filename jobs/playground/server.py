"""The inference process: a small HTTP server on a local address (`manage.py inference`).

POST /generate takes a pool request (jobs.playground.pool) as JSON and answers 200 with one
JSON event per line as they happen, or 429 {"error", "retry_after"} at once when the pool is
full. GET /healthz answers how full it is. Each request runs in its own thread; the pool
bounds how many are admitted and how many generate at once.
"""

import json
import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from jobs.playground.pool import Busy, execute

logger = logging.getLogger(__name__)


class InferenceServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, pool):
        super().__init__(address, Handler)
        self.pool = pool


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/healthz":
            return self._json(404, {"error": "Not found."})
        return self._json(200, {"status": "ok", **self.server.pool.load()})

    def do_POST(self):
        if self.path != "/generate":
            return self._json(404, {"error": "Not found."})
        try:
            request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            admission = self.server.pool.admit(request["user"])
            admission.__enter__()
        except Busy as exc:
            return self._json(429, {"error": str(exc), "retry_after": exc.retry_after})
        except (ValueError, KeyError) as exc:
            return self._json(400, {"error": f"Bad request: {exc}"})
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.end_headers()
            execute(request, self._event)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller went away; its place is freed below
        except Exception as exc:
            logger.exception("generation failed")
            self._event({"type": "error", "message": f"{type(exc).__name__}: {exc}"})
        finally:
            admission.__exit__(None, None, None)

    def _event(self, event):
        self.wfile.write(json.dumps(event).encode() + b"\n")
        self.wfile.flush()

    def _json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        logger.debug("inference %s", format % args)
