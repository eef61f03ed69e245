"""Do 100 open job pages slow training or the server? N pollers hit /jobs/<id>/live/ as
static/js/job_live.js does, while a real job trains.

    DATABASE_URL=postgres://root@127.0.0.1:5432/bench_live \
        .venv/bin/python bench/live_pages.py --pages 100 --seconds 30

1. Creates a user, the shipped sample dataset and a job on builtin-tiny (20 epochs, far more
   than the run needs; it is cancelled at the end), and runs it as a worker does
   (jobs.training.worker.job_run in a fresh process, OMP_NUM_THREADS=1).
2. Starts the web server the way scripts/run.sh does (scripts/web.sh: gunicorn, fixed threads,
   kept database connections; `--server runserver` for Django's development server instead).
3. Measures the job's training speed (tokens/s, from the tokens it reports) in phases of
   --seconds, alternately with no page open and with N pages polling (--rounds phases with
   pages, each between two without), since a job's speed drifts over its run. Each page polls
   every 1.5 s as a visible tab does (--interval), moving its cursors past what came back, so
   it asks for what is new only.
4. Prints requests/s, latency percentiles, errors, the CPU the server and PostgreSQL used, and
   training tokens/s in each phase. The pollers run in this process: their own CPU is printed
   too, since on a real deployment the browsers run elsewhere.

`--pin` puts the training process on core 0 and the server and pollers on the other cores, to
see the server's cost apart from contention for the CPU. `--no-train` polls a made-up running
job instead, to measure the server alone. Needs PostgreSQL (SQLite serialises writers).
"""

import argparse
import http.client
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import psutil
from server_harness import server_env, wait_until_healthy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tunerproject.settings")
# The same settings here (where the session is made) and in the server (where it is checked).
SERVER_ENV = server_env("b", Q_SYNC="0")  # the bench runs the job itself
os.environ.update(SERVER_ENV)
SERVER_LOG = Path("/tmp/live_pages_server.log")


def setup():
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(username="bench-live-pages")
    client = Client()
    client.force_login(user)
    return user, client.cookies["sessionid"].value


def made_up_job(user):
    """A running job with 500 metric points and 200 log lines that nothing updates."""
    from jobs.models import BaseModel, Dataset, Job, JobEvent, MetricPoint

    dataset = Dataset.objects.create(
        owner=user, name="bench", original_filename="b.txt", file="x", format="txt"
    )
    job = Job.objects.create(
        owner=user,
        name="bench live pages (made up)",
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
    return job


def training_job(user):
    """A real job on the sample dataset, with evaluations and checkpoints too rare to land in
    the measured phases (they would pause training in one phase and not another)."""
    from jobs.datasets.services import dataset_create_sample
    from jobs.training.services import job_launch

    dataset = dataset_create_sample(owner=user)
    return job_launch(
        owner=user,
        name="bench live pages",
        dataset=dataset,
        base_model_key="builtin-tiny",
        hyperparameters={
            "epochs": 20,
            "max_seq_length": 128,
            "batch_size": 8,
            "gradient_accumulation_steps": 1,
            "eval_steps": 100_000,
            "save_steps": 100_000,
        },
    )


def start_worker(job_id, pin):
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import django; django.setup(); "
        "from jobs.training.worker import job_run; job_run(job_id=int(sys.argv[2]))"
    )
    command = [sys.executable, "-c", code, str(ROOT), str(job_id)]
    if pin:
        command = ["taskset", "-c", "0", *command]
    return subprocess.Popen(command, env=os.environ.copy(), stderr=subprocess.DEVNULL)


def start_server(kind, port, pin, nice=0):
    if kind == "gunicorn":
        command = ["bash", "scripts/web.sh"]
    else:
        command = [sys.executable, "manage.py", "runserver", "--noreload", "--insecure"]
        command.append(f"127.0.0.1:{port}")
    if pin:
        command = ["taskset", "-c", f"1-{os.cpu_count() - 1}", *command]
    if nice:
        command = ["nice", "-n", str(nice), *command]
    env = {**os.environ, "ADDRESS": f"127.0.0.1:{port}"}
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=SERVER_LOG.open("w")
    )
    return wait_until_healthy(server, port, seconds=20, log=SERVER_LOG)


def tree_cpu(pid):
    """CPU seconds of a process and all its live descendants (gunicorn's workers)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    return sum(_cpu(p) for p in procs)


def postgres_cpu():
    """CPU seconds of every PostgreSQL process (backends come and go: a rough figure)."""
    return sum(_cpu(p) for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres")


def _cpu(process):
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system


def self_cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Pages:
    """N open job pages, each polling every `interval` seconds, started spread over one."""

    def __init__(self, *, count, port, job_id, cookie, cursor, interval):
        self.stop, self.latencies, self.errors = threading.Event(), [], []
        self.interval = interval
        self.threads = [
            threading.Thread(target=self.page, args=(port, job_id, cookie, dict(cursor)))
            for _ in range(count)
        ]

    def start(self):
        for thread in self.threads:
            thread.start()
            time.sleep(self.interval / len(self.threads))

    def close(self):
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def page(self, port, job_id, cookie, cursor):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while not self.stop.is_set():
            started = time.monotonic()
            path = (
                f"/jobs/{job_id}/live/?after_step={cursor['step']}"
                f"&after_event={cursor['event']}&after_checkpoint={cursor['checkpoint']}"
            )
            try:
                connection.request("GET", path, headers={"Cookie": f"sessionid={cookie}"})
                response = connection.getresponse()
                body = response.read()
                if response.status != 200:
                    self.errors.append(response.status)
                else:
                    data = json.loads(body)
                    cursor["step"] = max([cursor["step"]] + [m["step"] for m in data["metrics"]])
                    cursor["event"] = max([cursor["event"]] + [e["id"] for e in data["events"]])
                    cursor["checkpoint"] = max(
                        [cursor["checkpoint"]] + [c["id"] for c in data["checkpoints"]]
                    )
            except (OSError, http.client.HTTPException) as exc:
                self.errors.append(type(exc).__name__)
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            self.latencies.append(time.monotonic() - started)
            self.stop.wait(max(0.0, self.interval - (time.monotonic() - started)))


def tokens_seen(job_id):
    from jobs.models import Job

    return Job.objects.filter(pk=job_id).values_list("tokens_seen", "status").get()


def training_speed(job_id, seconds):
    """Tokens/s the job reported over about `seconds`: between the first and the last change of
    its tokens_seen seen in that time (the worker writes progress every few steps)."""
    changes, previous = [], tokens_seen(job_id)[0]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.2)
        tokens, status = tokens_seen(job_id)
        if status != "running":
            raise SystemExit(f"The job stopped ({status}) during the measurement")
        if tokens != previous:
            changes.append((time.monotonic(), tokens))
            previous = tokens
    if len(changes) < 2:
        return None
    (t0, n0), (t1, n1) = changes[0], changes[-1]
    return (n1 - n0) / (t1 - t0)


def wait_until_training(job_id, worker, limit=180):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        tokens, status = tokens_seen(job_id)
        if tokens > 0 and status == "running":
            return
        if worker.poll() is not None:
            raise SystemExit(f"The training process ended early ({status})")
        time.sleep(0.5)
    raise SystemExit("The job did not start training in time")


def measure_pages(args, job, cookie):
    """Run the pages for --seconds; return the figures and, when training, its speed."""
    job.refresh_from_db()
    last_event = job.events.order_by("-id").values_list("id", flat=True).first() or 0
    last_checkpoint = job.checkpoints.order_by("-id").values_list("id", flat=True).first() or 0
    # Caught up, as an open page is after its first poll; the job adds rows as it trains.
    cursor = {"step": job.step, "event": last_event, "checkpoint": last_checkpoint}
    pages = Pages(
        count=args.pages,
        port=args.port,
        job_id=job.pk,
        cookie=cookie,
        cursor=cursor,
        interval=args.interval,
    )
    pages.start()
    time.sleep(2)  # every page has made its first request
    server_before, pg_before, self_before = tree_cpu(args.server_pid), postgres_cpu(), self_cpu()
    count_before, started = len(pages.latencies), time.monotonic()
    speed = training_speed(job.pk, args.seconds) if args.train else None
    if not args.train:
        time.sleep(args.seconds)
    figures = {
        "elapsed": time.monotonic() - started,
        "requests": len(pages.latencies) - count_before,
        "server_cpu": tree_cpu(args.server_pid) - server_before,
        "postgres_cpu": postgres_cpu() - pg_before,
        "pollers_cpu": self_cpu() - self_before,
    }
    pages.close()
    figures["latencies"] = pages.latencies
    figures["errors"] = pages.errors
    return figures, speed


def merged(all_figures):
    total = {key: sum(f[key] for f in all_figures) for key in ("elapsed", "requests")}
    for key in ("server_cpu", "postgres_cpu", "pollers_cpu"):
        total[key] = sum(f[key] for f in all_figures)
    total["latencies"] = sorted(x for f in all_figures for x in f["latencies"])
    total["errors"] = [x for f in all_figures for x in f["errors"]]
    return total


def _speed(value):
    return f"{value:.0f} tokens/s" if value else "no progress reported in the phase"


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=60, help="length of each phase")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--interval", type=float, default=1.5, help="seconds between polls (job_live.js: 1.5)"
    )
    parser.add_argument("--server", choices=["gunicorn", "runserver"], default="gunicorn")
    parser.add_argument("--pin", action="store_true", help="training on core 0, the rest on 1+")
    parser.add_argument("--no-train", dest="train", action="store_false")
    parser.add_argument("--nice", type=int, default=0, help="run the server at this niceness")
    parser.add_argument(
        "--rounds", type=int, default=2, help="phases with pages, each between two without"
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupt)
    if args.pin:
        os.sched_setaffinity(0, set(range(1, os.cpu_count())))
    user, cookie = setup()
    from jobs.models import Job
    from jobs.training.services import job_cancel

    job = training_job(user) if args.train else made_up_job(user)
    worker = start_worker(job.pk, args.pin) if args.train else None
    server = start_server(args.server, args.port, args.pin, args.nice)
    args.server_pid = server.pid
    # Training speed drifts over a run: alternate phases without and with pages, compare means.
    speeds, all_figures = {"without": [], "with": []}, []
    try:
        if args.train:
            wait_until_training(job.pk, worker)
        for phase in range(2 * args.rounds + 1 if args.train else 1):
            if args.train and phase % 2 == 0:
                speeds["without"].append(training_speed(job.pk, args.seconds))
                print(f"  without pages: {_speed(speeds['without'][-1])}", flush=True)
                continue
            figures, speed = measure_pages(args, job, cookie)
            all_figures.append(figures)
            if args.train:
                speeds["with"].append(speed)
                print(f"  with {args.pages} pages: {_speed(speed)}", flush=True)
    finally:
        server.terminate()
        server.wait()
        if worker is not None:
            job_cancel(job=Job.objects.get(pk=job.pk))
            worker.wait(timeout=60)
        Job.objects.filter(pk=job.pk).delete()
    report(args, merged(all_figures), speeds)


def report(args, figures, speeds):
    elapsed, latencies, errors = figures["elapsed"], figures["latencies"], figures["errors"]
    print(
        f"{args.pages} pages, {args.server}{' (pinned)' if args.pin else ''}, "
        f"{elapsed:.0f} s: {figures['requests'] / elapsed:.1f} requests/s"
    )
    print(f"errors {len(errors)} {dict(Counter(errors))} (server log: {SERVER_LOG})")
    print(
        f"latency p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p95 {latencies[int(len(latencies) * 0.95)] * 1000:.1f} ms, "
        f"max {latencies[-1] * 1000:.1f} ms"
    )
    per_request = 1000 / max(1, figures["requests"])
    print(
        f"CPU: server {figures['server_cpu'] / elapsed:.2f} cores "
        f"({figures['server_cpu'] * per_request:.2f} ms a request), "
        f"PostgreSQL {figures['postgres_cpu'] / elapsed:.2f} cores "
        f"({figures['postgres_cpu'] * per_request:.2f} ms a request), "
        f"pollers (this process, not the server's) {figures['pollers_cpu'] / elapsed:.2f} cores"
    )
    if args.train:
        if not all(speeds["without"] + speeds["with"]):
            print("training tokens/s: a phase saw no progress; make --seconds longer")
            return
        without = statistics.mean(speeds["without"])
        with_pages = statistics.mean(speeds["with"])
        print(
            f"training tokens/s: without pages {without:.0f} "
            f"({', '.join(f'{v:.0f}' for v in speeds['without'] if v)}), "
            f"with pages {with_pages:.0f} ({', '.join(f'{v:.0f}' for v in speeds['with'] if v)}): "
            f"{100 * (with_pages / without - 1):+.1f}%"
        )


if __name__ == "__main__":
    main()
