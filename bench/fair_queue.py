"""How fast and how fair is the claim when a crowd queues at once?

    createdb -h 127.0.0.1 bench_queue
    DATABASE_URL=postgres://root@127.0.0.1:5432/bench_queue \
        .venv/bin/python bench/fair_queue.py --jobs 1000 --users 50 --workers 4 --rounds 3

1. Migrates the database, empties the bench users' jobs and queues --jobs jobs from --users
   users in one pool: user 0 launches a burst of 30% of them first (the person who queues 100
   jobs in 4 seconds), then the others launch theirs, interleaved, oldest first.
2. Starts --workers processes that each loop: claim the pool's next job with
   Job.objects.claim_next (the one statement real workers run), "train" it for --run-ms
   milliseconds, finish it (Job.finish), until nothing is left to claim.
3. Prints the claim latency (p50, p99, the statement and its state event) and the fairness
   achieved: how many claims until every user had one job started (ideal: --users), the burst
   user's share of the first 100 claims (their fair share is 1/--users; first-come-first-served
   would give them all 100), whether every user's first job started before any user's third,
   and Jain's index over the first 200 claims (1.0: perfectly even). --rounds repeats it; the
   last lines are the median of the rounds with their range.
Needs PostgreSQL (the claim's SKIP LOCKED is the point).
"""

# Not named queue.py (as the issue had it): a bench/fair_queue.py hides the standard library's
# `queue` module from every script in bench/ (torch, multiprocessing and asgiref import it).
import argparse
import multiprocessing
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tunerproject.settings")
POOL = "bench"
PREFIX = "bench-queue-"


def setup(job_count, user_count):
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone

    from jobs.models import BaseModel, Dataset, Job

    call_command("migrate", verbosity=0)
    users = [
        get_user_model().objects.get_or_create(username=f"{PREFIX}{i}")[0]
        for i in range(user_count)
    ]
    Job.objects.filter(owner__username__startswith=PREFIX).delete()
    base = BaseModel.objects.get(key="builtin-tiny")
    datasets = {
        u.pk: Dataset.objects.get_or_create(
            owner=u, name="bench", defaults={"original_filename": "b.txt", "file": "x"}
        )[0]
        for u in users
    }
    burst = int(job_count * 0.3)
    owners = [users[0]] * burst
    rest = job_count - burst
    owners += [users[1 + i % (user_count - 1)] for i in range(rest)]
    start = timezone.now() - timedelta(hours=1)
    Job.objects.bulk_create(
        (
            Job(
                owner=owner,
                name=f"bench {n}",
                dataset=datasets[owner.pk],
                base_model=base,
                status=Job.Status.QUEUED,
                pool=POOL,
                estimate={"wall_seconds": 60},
                created_at=start + timedelta(milliseconds=n),
            )
            for n, owner in enumerate(owners)
        ),
        batch_size=1000,
    )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE jobs_job")
    connection.close()


def worker(name, run_ms, results):
    import django

    django.setup()
    from jobs.models import Job

    latencies, claims = [], []
    while True:
        began = time.perf_counter()
        job = Job.objects.claim_next(POOL, name)
        latencies.append(time.perf_counter() - began)
        if job is None:
            break
        claims.append((time.time(), job.owner_id))
        time.sleep(run_ms / 1000)
        job.finish(name, Job.Status.SUCCEEDED, "done", actual={})
    results.put((latencies, claims))


def one_round(args):
    setup(args.jobs, args.users)
    from django.contrib.auth import get_user_model
    from django.db import connection

    burst_user = get_user_model().objects.get(username=f"{PREFIX}0").pk
    connection.close()  # the worker processes forked below must open their own
    results = multiprocessing.get_context("fork").Queue()
    procs = [
        multiprocessing.get_context("fork").Process(
            target=worker, args=(f"bench-worker-{i}", args.run_ms, results)
        )
        for i in range(args.workers)
    ]
    began = time.perf_counter()
    for proc in procs:
        proc.start()
    gathered = [results.get() for _ in procs]
    for proc in procs:
        proc.join()
    wall = time.perf_counter() - began
    from jobs.models import Job

    left = Job.objects.filter(pool=POOL, status=Job.Status.QUEUED).count()
    latencies = sorted(x for lat, _ in gathered for x in lat)
    order = [owner for _, owner in sorted(c for _, claims in gathered for c in claims)]
    return {**summarise(order, latencies, burst_user, args, wall), "left_queued": left}


def summarise(order, latencies, burst_user, args, wall):
    seen, all_started = set(), None
    for index, owner in enumerate(order, 1):
        seen.add(owner)
        if len(seen) == args.users and all_started is None:
            all_started = index
    firsts, thirds, counts = {}, [], {}
    for index, owner in enumerate(order):
        counts[owner] = counts.get(owner, 0) + 1
        if counts[owner] == 1:
            firsts[owner] = index
        if counts[owner] == 3:
            thirds.append(index)
    first_before_third = max(firsts.values()) < min(thirds)
    window = {}
    for owner in order[:200]:
        window[owner] = window.get(owner, 0) + 1
    shares = list(window.values()) + [0] * (args.users - len(window))
    jain = sum(shares) ** 2 / (len(shares) * sum(s * s for s in shares))
    return {
        "claims": len(order),
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)],
        "all_started_by": all_started,
        "burst_share_first_100": sum(1 for o in order[:100] if o == burst_user),
        "first_before_third": first_before_third,
        "jain_first_200": jain,
        "claims_per_s": len(order) / wall,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--run-ms", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rounds = []
    for n in range(args.rounds):
        result = one_round(args)
        rounds.append(result)
        print(f"round {n + 1}: " + ", ".join(f"{k} {_fmt(v)}" for k, v in result.items()))
    print(f"median of {args.rounds} rounds [range]:")
    for key in rounds[0]:
        values = [r[key] for r in rounds]
        if isinstance(values[0], bool):
            print(f"  {key}: {'yes' if all(values) else 'no'} in every round")
        else:
            med = statistics.median(values)
            print(f"  {key}: {_fmt(med)} [{_fmt(min(values))}-{_fmt(max(values))}]")


def _fmt(value):
    return f"{value:.2f}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    main()
