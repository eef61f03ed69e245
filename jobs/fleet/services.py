"""Worker registry workflows: a qcluster process registers what it measured, keeps last_seen
fresh from a thread, is marked stopping on SIGTERM (its running job then preempts), and stopped
when it exits. A job's task records which job its worker is running.

Measuring never initialises CUDA (the qcluster parent forks the processes that train): the GPU
is read with `nvidia-smi`, RAM with psutil.
"""

import logging
import os
import platform
import shutil
import socket
import subprocess
import threading
from typing import Self

import psutil
from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from jobs.models.worker import Worker
from jobs.planning.devices import DEVICE_PROFILES

logger = logging.getLogger(__name__)

# Set in the qcluster process once registered; its forked workers inherit it.
WORKER_ID_VARIABLE = "LLMTUNER_WORKER_ID"


def worker_measure() -> tuple[str, str, int]:
    """(kind, device name, memory bytes) of this machine: the first GPU nvidia-smi lists, else
    the CPU and its RAM. WORKER_KIND names the kind when the GPU's own name is not a known
    profile (h100, h200, a100, l4, t4 are)."""
    gpu = _first_gpu()
    if gpu is not None:
        name, memory = gpu
        compact = name.lower().replace(" ", "")
        known = [k for k in DEVICE_PROFILES if k not in ("cpu", "cuda") and k in compact]
        configured = settings.WORKER_KIND if settings.WORKER_KIND != "cpu" else "cuda"
        kind = known[0] if known else configured
        return kind, name, memory

    return "cpu", platform.processor() or platform.machine() or "cpu", psutil.virtual_memory().total


def _first_gpu() -> tuple[str, int] | None:
    if not shutil.which("nvidia-smi"):
        return None
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    first = out.strip().splitlines()[0] if out.strip() else ""
    if "," not in first:
        return None
    name, mib = first.rsplit(",", 1)
    return name.strip(), int(float(mib)) * 2**20


def worker_register(*, pool: str | None = None) -> Worker:
    """Register (or re-register) this qcluster process; returns the Worker. Its id goes to the
    environment so the job processes it forks can name it."""
    kind, device_name, memory = worker_measure()
    host = socket.gethostname()
    worker, _ = Worker.objects.update_or_create(
        name=f"{host}:{os.getpid()}",
        defaults={
            "host": host,
            "pool": pool or settings.WORKER_POOL,
            "kind": kind,
            "device_name": device_name[:200],
            "memory_bytes": memory,
            "started_at": timezone.now(),
            "last_seen": timezone.now(),
            "stopped_at": None,
            "stopping": False,
            "current_job": None,
        },
    )
    os.environ[WORKER_ID_VARIABLE] = str(worker.pk)
    return worker


def worker_beat(*, worker_id: int) -> None:
    Worker.objects.filter(pk=worker_id).update(last_seen=timezone.now())


def worker_stopping(*, worker_id: int) -> None:
    """SIGTERM reached the worker: its running job checkpoints and goes back to the queue."""
    Worker.objects.filter(pk=worker_id).update(stopping=True)


def worker_stopped(*, worker_id: int) -> None:
    Worker.objects.filter(pk=worker_id).update(stopped_at=timezone.now(), current_job=None)


def worker_running(*, job_id: int | None) -> None:
    """From a job's process: its worker now runs `job_id` (None: nothing)."""
    worker_id = os.environ.get(WORKER_ID_VARIABLE)
    if worker_id:
        Worker.objects.filter(pk=worker_id).update(current_job_id=job_id, last_seen=timezone.now())


def worker_lost_job(*, job_id: int) -> None:
    """A job requeued because its process died: no worker runs it any more."""
    Worker.objects.filter(current_job_id=job_id).update(current_job=None)


def is_stopping() -> bool:
    """From a job's process: whether its worker was told to stop (SIGTERM to the qcluster)."""
    worker_id = os.environ.get(WORKER_ID_VARIABLE)
    return bool(worker_id and Worker.objects.filter(pk=worker_id, stopping=True).exists())


class RegistryBeat:
    """A thread keeping the registry's last_seen fresh. It opens a connection per beat and
    closes it, so the processes the qcluster forks inherit no open database connection."""

    def __init__(self, worker_id: int) -> None:
        self.worker_id = worker_id
        self.interval = max(2.0, settings.JOB_HEARTBEAT_TIMEOUT_S / 4)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-registry", daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                close_old_connections()
                worker_beat(worker_id=self.worker_id)
            except Exception:  # the next beat retries
                logger.warning("worker %s: registry beat failed", self.worker_id, exc_info=True)
            finally:
                connection.close()
