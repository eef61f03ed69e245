"""What does "visible to this user" cost in the database as the jobs table grows?

    DATABASE_URL=postgres://root@127.0.0.1:5432/bench_visible \
        .venv/bin/python bench/visible_to.py --users 3 --jobs 10000

1. Migrates the database and gives --users users --jobs jobs each (bulk_create), one team with
   the first user as admin, a user with no jobs at all, and ANALYZE.
2. For a heavy user (--jobs jobs, in a team) and a user with none, runs EXPLAIN ANALYZE on the
   first page of their job list (newest 20) three ways: owner only (what the list cost before
   teams), Job.objects.visible_to(user) (team and shared ids read first, as lists) and
   visible_to(user, lazy=True) (the same rule as subqueries), and prints the median execution
   time of --repeat runs of each.
Needs PostgreSQL; the rows stay in that database (a second run reuses them).
"""

import argparse
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tunerproject.settings")


def setup(users, jobs):
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from accounts.teams.services import team_create
    from jobs.models import BaseModel, Dataset, Job

    call_command("migrate", verbosity=0)
    User = get_user_model()
    if not User.objects.filter(username="bench-visible-0").exists():
        base = BaseModel.objects.get(key="builtin-tiny")
        for i in range(users):
            user = User.objects.create_user(f"bench-visible-{i}", f"v{i}@example.com", "x")
            data = Dataset.objects.create(
                owner=user, name="d", original_filename="d.txt", file="x", format="txt"
            )
            rows = [
                Job(owner=user, dataset=data, base_model=base, name=f"job {n}") for n in range(jobs)
            ]
            Job.objects.bulk_create(rows, batch_size=2000)
        team_create(by=User.objects.get(username="bench-visible-0"), name="Bench team")
        User.objects.create_user("bench-visible-none", "none@example.com", "x")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return User


def milliseconds(queryset, repeat):
    from django.db import connection

    sql, params = queryset.order_by("-created_at", "-id")[:20].query.sql_with_params()
    times = []
    for _ in range(repeat):
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN ANALYZE " + sql, params)
            last = cursor.fetchall()[-1][0]  # "Execution Time: 1.234 ms"
        times.append(float(last.split(":")[1].split()[0]))
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    User = setup(args.users, args.jobs)
    from jobs.models import Job

    total = Job.objects.count()
    print(f"{total:,} jobs in the table; first page of the job list, median of {args.repeat}:")
    for name in ("bench-visible-0", "bench-visible-none"):
        user = User.objects.get(username=name)
        ways = {
            "owner only": Job.objects.filter(owner=user),
            "visible_to": Job.objects.visible_to(user),
            "visible_to lazy": Job.objects.visible_to(user, lazy=True),
        }
        figures = ", ".join(
            f"{label} {milliseconds(qs, args.repeat):.2f} ms" for label, qs in ways.items()
        )
        print(f"  {name}: {figures}")


if __name__ == "__main__":
    main()
