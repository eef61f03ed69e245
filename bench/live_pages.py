"""How much do many open job pages cost? N pollers hit /jobs/<id>/live/ once a second each.

Starts the web server (manage.py runserver, threaded, DEBUG off) on the database in DATABASE_URL,
creates a user and a running job with a history, then runs N polling clients for T seconds the
way static/js/job_live.js does (cursor after the last step/event seen). Reports the request rate,
latency percentiles and the CPU time the server process used, i.e. the share of a core that the
open pages take away from training on the same machine.

    DATABASE_URL=postgres://root@127.0.0.1:5432/helper_portal \
        .venv/bin/python bench/live_pages.py --pages 100 --seconds 30
"""

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tunerproject.settings")
# The same settings here (where the session is made) and in the server (where it is checked).
SERVER_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "bench-" + "b" * 60,
    "ALLOWED_HOSTS": "127.0.0.1,testserver",
    "SECURE_SSL_REDIRECT": "0",
    "LOG_LEVEL": "ERROR",
}
os.environ.update(SERVER_ENV)


def prepare(job_id=None):
    """A session cookie for the owner of a job: job_id's, or a made-up running job with 500
    metric points and 200 log lines."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from jobs.models import BaseModel, Dataset, Job, JobEvent, MetricPoint

    if job_id:
        job = Job.objects.get(pk=job_id)
        client = Client()
        client.force_login(job.owner)
        return job, client.cookies["sessionid"].value, 0
    user, _ = get_user_model().objects.get_or_create(username="bench-live-pages")
    dataset = Dataset.objects.create(
        owner=user, name="bench", original_filename="b.txt", file="x", format="txt"
    )
    job = Job.objects.create(
        owner=user,
        name="bench",
        dataset=dataset,
        base_model=BaseModel.objects.get(key="builtin-tiny"),
        status=Job.Status.RUNNING,
        step=500,
        total_steps=1000,
    )
    MetricPoint.objects.bulk_create(
        MetricPoint(job=job, step=s, train_loss=5 - s / 200) for s in range(1, 501)
    )
    JobEvent.objects.bulk_create(JobEvent(job=job, message=f"line {i}") for i in range(200))
    client = Client()
    client.force_login(user)
    last_event = job.events.order_by("-id").values_list("id", flat=True).first()
    return job, client.cookies["sessionid"].value, last_event


def cpu_seconds(pid):
    """User + system CPU seconds of a process and its children (threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(v) for v in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def poller(port, job_id, cursor, cookie, stop, latencies, errors):
    """One open job page: poll, move the cursors past what came back, wait out the second."""
    cursor = dict(cursor)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while not stop.is_set():
        started = time.monotonic()
        path = f"/jobs/{job_id}/live/?after_step={cursor['step']}&after_event={cursor['event']}"
        try:
            connection.request("GET", path, headers={"Cookie": f"sessionid={cookie}"})
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                errors.append(response.status)
            else:
                data = json.loads(body)
                cursor["step"] = max([cursor["step"]] + [m["step"] for m in data["metrics"]])
                cursor["event"] = max([cursor["event"]] + [e["id"] for e in data["events"]])
        except (OSError, http.client.HTTPException) as exc:
            errors.append(type(exc).__name__)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        latencies.append(time.monotonic() - started)
        stop.wait(max(0.0, 1.0 - (time.monotonic() - started)))


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--job", type=int, help="watch this (training) job instead of a made-up one"
    )
    args = parser.parse_args()
    # Stopped from outside (SIGTERM): still stop the server and report, as at the end of --seconds.
    signal.signal(signal.SIGTERM, _interrupt)
    job, cookie, last_event = prepare(args.job)
    env = {**os.environ, **SERVER_ENV}
    server = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "runserver",
            "--noreload",
            "--insecure",
            f"127.0.0.1:{args.port}",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open("/tmp/live_pages_server.log", "w"),
    )
    try:
        time.sleep(6)
        # Caught up, as an open page is after its first poll; a real job adds rows as it trains.
        cursor = {"step": job.step, "event": last_event}
        stop, latencies, errors = threading.Event(), [], []
        threads = [
            threading.Thread(
                target=poller, args=(args.port, job.pk, cursor, cookie, stop, latencies, errors)
            )
            for _ in range(args.pages)
        ]
        cpu_before, started = cpu_seconds(server.pid), time.monotonic()
        for thread in threads:
            thread.start()
            time.sleep(1.0 / args.pages)  # spread the pages over the second, as real tabs are
        try:
            time.sleep(args.seconds)
        except KeyboardInterrupt:
            pass
        stop.set()
        for thread in threads:
            thread.join()
        elapsed, cpu = time.monotonic() - started, cpu_seconds(server.pid) - cpu_before
    finally:
        server.terminate()
        server.wait()
        if not args.job:
            job.delete()
    latencies.sort()
    rate, p95 = len(latencies) / elapsed, latencies[int(len(latencies) * 0.95)]
    print(f"{args.pages} pages for {elapsed:.0f} s: {rate:.1f} requests/s")
    print(f"errors {len(errors)} {dict(Counter(errors))} (see /tmp/live_pages_server.log)")
    print(
        f"latency p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p95 {p95 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms"
    )
    print(
        f"server CPU {cpu:.1f} s over {elapsed:.0f} s = {cpu / elapsed:.2f} cores, "
        f"{cpu / max(1, len(latencies)) * 1000:.2f} ms CPU per request"
    )


if __name__ == "__main__":
    main()
