"""How the web process asks for text: `start(request)` returns the pool's events (see
jobs.playground.pool) as an iterable with close(), or raises Busy (refused: try again later)
or Unavailable (no inference service answers).

With INFERENCE_ADDRESS (host:port of `manage.py inference`) the request goes to that process, so
generation never takes the web server's CPU; the web thread only waits on a socket, and each
web process makes at most INFERENCE_WEB_CALLS such calls at once, so waiting callers never hold
every thread that pages need. Without it (tests, the embedded default) the same pool code runs
in this process.
"""

import http.client
import json
import queue
import threading
from contextlib import ExitStack
from typing import Any

from django.conf import settings

from jobs.playground.pool import Busy, Pool, execute


class Unavailable(Exception):
    """The inference service did not answer, or broke off."""


class Events:
    """The events of one request; close() frees its place (idempotent)."""

    def __init__(self, iterator, cleanup):
        self._iterator, self._cleanup = iterator, cleanup

    def __iter__(self):
        try:
            yield from self._iterator
        finally:
            self.close()

    def close(self):
        cleanup, self._cleanup = self._cleanup, None
        if cleanup:
            cleanup()


def start(request):
    if settings.INFERENCE_ADDRESS:
        return _remote(request)
    return _local(request)


def complete(request):
    """The final event of a request that is not streamed (its choices and usage)."""
    for event in start({**request, "stream": False}):
        if event["type"] == "error":
            raise Unavailable(event["message"])
        if event["type"] == "done":
            return event
    raise Unavailable("The inference service ended without an answer.")


# --- In this process ------------------------------------------------------------------------

_local_pools: dict[str, Any] = {}
_local_lock = threading.Lock()


def _local_pool():
    shape = (settings.INFERENCE_SLOTS, settings.INFERENCE_QUEUE, settings.INFERENCE_PER_USER)
    with _local_lock:
        if shape not in _local_pools:
            _local_pools[shape] = Pool(slots=shape[0], queue=shape[1], per_user=shape[2])
        return _local_pools[shape]


def _local(request):
    stack = ExitStack()
    stack.enter_context(_local_pool().admit(request["user"]))  # Busy from here
    events = queue.Queue()

    def work():
        try:
            execute(request, events.put)
        except Exception as exc:  # reported to the caller as an event, like the remote pool
            events.put({"type": "error", "message": f"{type(exc).__name__}: {exc}"})
        finally:
            stack.close()
            events.put(None)

    threading.Thread(target=work, name="inference", daemon=True).start()
    return Events(iter(events.get, None), lambda: None)


# --- In the inference process ---------------------------------------------------------------

_web_calls = None
_web_calls_lock = threading.Lock()


def _web_slot():
    global _web_calls
    with _web_calls_lock:
        if _web_calls is None:
            _web_calls = threading.BoundedSemaphore(settings.INFERENCE_WEB_CALLS)
    if not _web_calls.acquire(blocking=False):
        raise Busy("This server is already waiting on its share of generations.", retry_after=1)
    return _web_calls.release


def _remote(request):
    release = _web_slot()
    host, _, port = settings.INFERENCE_ADDRESS.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=settings.INFERENCE_TIMEOUT_S)

    def cleanup():
        conn.close()
        release()

    try:
        conn.request("POST", "/generate", json.dumps(request), {"Content-Type": "application/json"})
        response = conn.getresponse()
        if response.status == 429:
            body = json.loads(response.read())
            raise Busy(body["error"], retry_after=body.get("retry_after", 1))
        if response.status != 200:
            raise Unavailable(f"The inference service answered {response.status}.")
    except OSError as exc:
        cleanup()
        raise Unavailable(f"The inference service is not reachable ({exc}).") from exc
    except Exception:
        cleanup()
        raise
    return Events(_lines(response), cleanup)


def _lines(response):
    try:
        for line in response:
            if line.strip():
                yield json.loads(line)
    except OSError as exc:  # a timeout or a dropped connection mid-answer
        yield {"type": "error", "message": f"The inference service broke off ({exc})."}
