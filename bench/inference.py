"""Does generation stall the site? 16 clients generate continuously through the OpenAI-compatible
API while a prober times /healthz and a job page.

    DATABASE_URL=postgres://root@127.0.0.1:5432/bench_inference \
        .venv/bin/python bench/inference.py --clients 16 --seconds 20 --runs 3

1. Creates a user, an API token and a made-up running job (for its page).
2. Starts the servers as scripts/run.sh does: `manage.py inference` and scripts/web.sh
   (gunicorn) with INFERENCE_ADDRESS pointing at it. `--inline` leaves INFERENCE_ADDRESS unset,
   so generation runs in the web server's threads (as before the pool), for comparison.
3. Each round: the clients POST /openai/v1/completions (builtin-tiny and builtin-small in turn,
   32 tokens, temperature 1) back to back, waiting Retry-After when refused with 429; the
   prober asks for /healthz and the job page in turn, one request at a time.
4. Prints per round the p50/p99/max latency of both pages, the generation tokens/s per model
   and the 429s; then the median and spread (min-max) of the rounds.
"""

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

from server_harness import server_env, wait_until_healthy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tunerproject.settings")
SERVER_ENV = server_env("i")
os.environ.update(SERVER_ENV)
MODELS = ["builtin-tiny", "builtin-small"]
LOG = Path("/tmp/bench_inference_server.log")


def setup():
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from accounts.models import ApiToken
    from jobs.models import BaseModel, Dataset, Job

    call_command("migrate", verbosity=0)  # a new database works as well as a used one
    user, _ = get_user_model().objects.get_or_create(username="bench-inference")
    dataset = Dataset.objects.create(
        owner=user, name="bench", original_filename="b.txt", file="x", format="txt"
    )
    job = Job.objects.create(
        owner=user,
        name="bench inference (made up)",
        dataset=dataset,
        base_model=BaseModel.objects.get(key="builtin-tiny"),
        status=Job.Status.RUNNING,
        step=50,
        total_steps=100,
    )
    client = Client()
    client.force_login(user)
    return ApiToken.issue(user=user, name="bench")[1], client.cookies["sessionid"].value, job.pk


def start_servers(port, inline):
    env = {**os.environ, "ADDRESS": f"127.0.0.1:{port}"}
    servers = []
    if not inline:
        address = f"127.0.0.1:{port + 1}"
        env["INFERENCE_ADDRESS"] = address
        command = [sys.executable, "manage.py", "inference", "--address", address]
        pool = subprocess.Popen(command, cwd=ROOT, env=env, stderr=LOG.open("w"))
        servers.append(wait_until_healthy(pool, port + 1, seconds=120, log=str(LOG)))
    web = subprocess.Popen(["bash", "scripts/web.sh"], cwd=ROOT, env=env, stderr=LOG.open("a"))
    servers.append(wait_until_healthy(web, port, log=str(LOG)))
    return servers


class Clients:
    """N threads generating back to back; tokens per model and refusals are counted."""

    def __init__(self, count, port, token):
        self.port, self.token = port, token
        self.stop = threading.Event()
        self.tokens, self.refused, self.failed = defaultdict(int), 0, 0
        self.last_failure = None
        self.busy_seconds = defaultdict(float)
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(count)]

    def start(self):
        for thread in self.threads:
            thread.start()

    def close(self):
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def run(self, index):
        model = MODELS[index % len(MODELS)]
        while not self.stop.is_set():
            started = time.monotonic()
            status, headers, body = self.complete(model)
            with self.lock:
                if status == 200:
                    self.tokens[model] += body["usage"]["completion_tokens"]
                    self.busy_seconds[model] += time.monotonic() - started
                elif status == 429:
                    self.refused += 1
                else:
                    self.failed += 1
                    self.last_failure = (status, body)
            if status == 429:
                self.stop.wait(float(headers.get("retry-after", 1)))

    def complete(self, model):
        body = {"model": model, "prompt": "Once upon a time", "max_tokens": 32, "temperature": 1}
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
            conn.request(
                "POST",
                "/openai/v1/completions",
                json.dumps(body),
                {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), json.loads(response.read())
        except (OSError, ValueError) as exc:
            return 0, {}, {"exception": repr(exc)}


def probe(port, path, cookie):
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    conn.request("GET", path, headers={"Cookie": f"sessionid={cookie}"})
    response = conn.getresponse()
    response.read()
    assert response.status == 200, (path, response.status)
    return (time.perf_counter() - started) * 1000


def one_round(args, token, cookie, job_id):
    clients = Clients(args.clients, args.port, token)
    clients.start()
    latencies = defaultdict(list)
    paths = {"healthz": "/healthz", "job page": f"/jobs/{job_id}/"}
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        for name, path in paths.items():
            latencies[name].append(probe(args.port, path, cookie))
        time.sleep(0.05)
    clients.close()
    if clients.last_failure:
        print(f"a failed request: {clients.last_failure}")
    rates = {m: clients.tokens[m] / args.seconds for m in MODELS}
    return latencies, rates, clients.refused, clients.failed


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--port", type=int, default=18431)
    parser.add_argument("--inline", action="store_true", help="generate in the web threads")
    args = parser.parse_args()
    token, cookie, job_id = setup()
    servers = start_servers(args.port, args.inline)
    try:
        Clients(0, args.port, token).complete(MODELS[0])  # load the models before measuring
        Clients(0, args.port, token).complete(MODELS[1])
        rounds = [one_round(args, token, cookie, job_id) for _ in range(args.runs)]
    finally:
        for server in servers:
            server.terminate()
            server.wait()
    report(args, rounds)


def report(args, rounds):
    mode = "inline (web threads)" if args.inline else "inference pool process"
    print(f"{args.clients} clients, {args.seconds:.0f} s x {args.runs} rounds, {mode}")
    summary = defaultdict(list)
    for number, (latencies, rates, refused, failed) in enumerate(rounds, 1):
        parts = []
        for name, values in latencies.items():
            p99 = percentile(values, 0.99)
            summary[f"{name} p99 ms"].append(p99)
            parts.append(
                f"{name} p50 {percentile(values, 0.5):.0f} p99 {p99:.0f} "
                f"max {max(values):.0f} ms (n={len(values)})"
            )
        for model, rate in rates.items():
            summary[f"{model} tokens/s"].append(rate)
            parts.append(f"{model} {rate:.0f} tok/s")
        parts.append(f"429s {refused}, failed {failed}")
        print(f"round {number}: " + "; ".join(parts))
    for name, values in summary.items():
        print(
            f"{name}: median {statistics.median(values):.0f} "
            f"(min {min(values):.0f}, max {max(values):.0f})"
        )


if __name__ == "__main__":
    main()
