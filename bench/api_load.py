"""How do the API's read endpoints hold up for a user with 10,000 jobs?

    DATABASE_URL=postgres://root@127.0.0.1:5432/bench_api \
        .venv/bin/python bench/api_load.py --jobs 10000 --rate 50 --seconds 20 --rounds 3

1. Migrates the database and gives one user --jobs jobs (made with bulk_create, each with the
   auto-configuration reasons and estimate a real launch records, about 3 KB), one of them
   running with 500 metric points and 200 log lines, and an API token and a browser session.
2. Starts the web server as in production (scripts/web.sh: gunicorn, WEB_WORKERS x
   WEB_THREADS, kept database connections).
3. For each endpoint (the job list, page 1 and a deep page, a search, ?full=1, one job, its
   metrics, and the portal's live news of the running job) sends --rate requests a second for
   --seconds from --clients threads on kept-alive connections, on a fixed schedule (a slow
   answer delays the next request of that client, not the whole schedule), and prints the
   requests/s achieved, latency p50 and p99, the answer's size and errors. --rounds repeats
   everything; the figures printed last are the median of the rounds with their range.
Needs PostgreSQL (the figures are for it); the data stay in that database for the next run.
"""

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from server_harness import server_env, wait_until_healthy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tunerproject.settings")
SERVER_ENV = server_env("c")
os.environ.update(SERVER_ENV)
SERVER_LOG = Path("/tmp/api_load_server.log")
USERNAME = "bench-api-load"
REASON = "Auto: chosen for the dataset's size and the model's width. " * 8


def setup(job_count):
    """The user, their jobs, a token and a session: (token, session cookie, running job id)."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model

    from accounts.models import ApiToken

    user, _ = get_user_model().objects.get_or_create(username=USERNAME)
    running = _jobs(user, job_count)
    _, token = ApiToken.issue(user=user, name="api_load")
    client = Client()
    client.force_login(user)
    return token, client.cookies["sessionid"].value, running.pk


def _jobs(user, count):
    from jobs.models import BaseModel, Dataset, Job, JobEvent, MetricPoint

    dataset, _ = Dataset.objects.get_or_create(
        owner=user, name="bench", defaults={"original_filename": "b.txt", "file": "x"}
    )
    base = BaseModel.objects.get(key="builtin-tiny")
    missing = count - Job.objects.filter(owner=user).count()
    reasons = {name: REASON for name in ["learning_rate", "batch_size", "epochs", "warmup_ratio"]}
    estimate = {"seconds": 120.0, "peak_memory_bytes": 2**30, "cost": 0.01, "fits": True}
    Job.objects.bulk_create(
        (
            Job(
                owner=user,
                name=f"bench job {i}",
                dataset=dataset,
                base_model=base,
                status=Job.Status.SUCCEEDED,
                hyperparameter_reasons=reasons,
                estimate=estimate,
                actual=estimate,
            )
            for i in range(max(0, missing))
        ),
        batch_size=1000,
    )
    running = Job.objects.filter(owner=user, status=Job.Status.RUNNING).first()
    if running is None:
        running = Job.objects.create(
            owner=user, name="bench running", dataset=dataset, base_model=base, step=500,
            total_steps=1000, status=Job.Status.RUNNING,
        )  # fmt: skip
        MetricPoint.objects.bulk_create(
            MetricPoint(job=running, step=s, train_loss=5 - s / 200) for s in range(1, 501)
        )
        JobEvent.objects.bulk_create(JobEvent(job=running, message=f"l{i}") for i in range(200))
    # Fresh planner statistics, as autovacuum would have soon after such a load: without them
    # PostgreSQL guesses a user has 10 jobs and sorts all 10,000 for every page (22 ms, not 0.3).
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return running


def start_server(port):
    env = {**os.environ, "ADDRESS": f"127.0.0.1:{port}"}
    server = subprocess.Popen(
        ["bash", "scripts/web.sh"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=SERVER_LOG.open("w"),
        start_new_session=True,
    )
    return wait_until_healthy(server, port, seconds=30, log=SERVER_LOG)


def endpoints(job_id, job_count):
    deep = max(1, job_count // 20 // 2)
    return {
        "list": "/api/v1/jobs/",
        f"list page {deep}": f"/api/v1/jobs/?page={deep}",
        "list search": "/api/v1/jobs/?search=job%20123",
        "list ?full=1": "/api/v1/jobs/?full=1",
        "detail": f"/api/v1/jobs/{job_id}/",
        "metrics": f"/api/v1/jobs/{job_id}/metrics/?after_step=250",
        "live (portal)": f"/jobs/{job_id}/live/?after_step=490&after_event=0&after_checkpoint=0",
    }


def load(port, path, headers, *, rate, seconds, clients):
    """Send `rate` requests a second for `seconds`; return (latencies, sizes, errors, elapsed)."""
    latencies, sizes, errors = [], [], []
    interval = clients / rate
    started = time.monotonic()

    def client(offset):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        due = started + offset
        while due < started + seconds:
            time.sleep(max(0.0, due - time.monotonic()))
            sent = time.monotonic()
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                body = response.read()
                (sizes if response.status == 200 else errors).append(
                    len(body) if response.status == 200 else response.status
                )
            except (OSError, http.client.HTTPException) as exc:
                errors.append(type(exc).__name__)
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            latencies.append(time.monotonic() - sent)
            due += interval

    threads = [
        threading.Thread(target=client, args=(i * interval / clients,)) for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, sizes, errors, time.monotonic() - started


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def measure(port, urls, auth, args):
    rows = {}
    for name, path in urls.items():
        headers = {"Cookie": f"sessionid={auth['cookie']}"} if name.startswith("live") else {
            "Authorization": f"Token {auth['token']}"
        }  # fmt: skip
        latencies, sizes, errors, elapsed = load(
            port, path, headers, rate=args.rate, seconds=args.seconds, clients=args.clients
        )
        rows[name] = {
            "rps": len(latencies) / elapsed,
            "p50": 1000 * percentile(latencies, 0.50),
            "p99": 1000 * percentile(latencies, 0.99),
            "kb": (statistics.mean(sizes) / 1024) if sizes else 0.0,
            "errors": len(errors),
        }
    return rows


def report(title, rows):
    print(f"\n{title}")
    print(f"{'endpoint':<16} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'KB':>7} {'errors':>7}")
    for name, row in rows.items():
        print(
            f"{name:<16} {row['rps']:>7.1f} {row['p50']:>8.1f} {row['p99']:>8.1f} "
            f"{row['kb']:>7.1f} {row['errors']:>7}"
        )


def median_rows(rounds):
    """Per endpoint and figure: the median of the rounds with its range, as text."""
    rows = {}
    for name in rounds[0]:
        rows[name] = {}
        for key in ["rps", "p50", "p99"]:
            values = [r[name][key] for r in rounds]
            rows[name][key] = (statistics.median(values), min(values), max(values))
        rows[name]["errors"] = sum(r[name]["errors"] for r in rounds)
    print("\nmedian of the rounds [min-max]")
    for name, row in rows.items():
        text = "  ".join(f"{k} {m:.1f} [{lo:.1f}-{hi:.1f}]" for k, (m, lo, hi) in
                         ((k, row[k]) for k in ["rps", "p50", "p99"]))  # fmt: skip
        print(f"{name:<16} {text}  errors {row['errors']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=50.0, help="requests a second")
    parser.add_argument("--seconds", type=float, default=20.0, help="per endpoint and round")
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database (the figures are for it).")
    token, cookie, job_id = setup(args.jobs)
    server = start_server(args.port)
    try:
        urls = endpoints(job_id, args.jobs)
        rounds = []
        for number in range(1, args.rounds + 1):
            rounds.append(measure(args.port, urls, {"token": token, "cookie": cookie}, args))
            report(
                f"round {number}: {args.rate:g} req/s offered, {args.clients} clients", rounds[-1]
            )
        if args.rounds > 1:
            median_rows(rounds)
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=15)


if __name__ == "__main__":
    main()
