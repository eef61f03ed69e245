"""Where a queued job stands: its position in its pool's queue and when it should start.

The order is the claim's (JobQuerySet.claim_next): round by round, each user's next job, users
with fewer running jobs in the pool first, older jobs first. The start is simulated: each live
worker of the pool is free when its running job's ETA runs out; the jobs ahead take the first
free worker for their estimated wall time.
"""

from datetime import timedelta

from django.db.models import Count, Max
from django.utils import timezone

from jobs.models import Job
from jobs.models.worker import Worker


def queue_order(pool):
    """The pool's queued job ids in the order free workers will take them, if nothing else
    arrives: as JobQuerySet.claim_next picks, one job at a time."""
    queued = Job.objects.filter(status=Job.Status.QUEUED, pool=pool, cancel_requested=False)
    rows = list(queued.order_by("created_at", "id").values_list("id", "owner_id", "created_at"))
    running = dict(
        Job.objects.filter(status=Job.Status.RUNNING, pool=pool)
        .values_list("owner_id")
        .annotate(n=Count("id"))
    )
    since = timezone.now() - timedelta(days=1)
    last_start = dict(
        Job.objects.filter(pool=pool, started_at__gte=since)
        .values_list("owner_id")
        .annotate(last=Max("started_at"))
    )
    rank, keyed = {}, []
    for job_id, owner_id, created_at in rows:
        # A user's first queued job comes after the jobs they already run in the pool.
        rank[owner_id] = rank[owner_id] + 1 if owner_id in rank else running.get(owner_id, 0)
        last = last_start.get(owner_id)
        # Within a round, users served longest ago first (never served: first of all).
        keyed.append(((rank[owner_id], last is not None, last or created_at, created_at), job_id))
    return [job_id for _, job_id in sorted(keyed)]


def queue_standing(job):
    """{"position" (1 = next), "ahead", "estimated_start" (None without a live worker),
    "waiting_for" (a sentence while its pool has no live worker)} for a queued job, else None."""
    if job.status != Job.Status.QUEUED:
        return None
    order = queue_order(job.pool)
    position = order.index(job.pk) + 1 if job.pk in order else len(order) + 1
    workers = Worker.objects.live().filter(pool=job.pool).count()
    standing = {"position": position, "ahead": position - 1, "estimated_start": None}
    if not workers:
        standing["waiting_for"] = f"waiting for a {job.pool} worker"
        return standing
    free_at = sorted(_remaining_seconds(job.pool))[:workers]
    free_at += [0.0] * (workers - len(free_at))
    ahead = Job.objects.in_bulk(order[: position - 1])
    for job_id in order[: position - 1]:
        free_at.sort()
        free_at[0] += (ahead[job_id].estimate or {}).get("wall_seconds") or 0.0
    start = timezone.now() + timedelta(seconds=min(free_at))
    standing["estimated_start"] = start.replace(microsecond=0)
    return standing


def _remaining_seconds(pool):
    running = Job.objects.filter(status=Job.Status.RUNNING, pool=pool)
    remaining = []
    for eta, estimate in running.values_list("eta_seconds", "estimate"):
        remaining.append(eta if eta is not None else (estimate or {}).get("wall_seconds") or 0.0)
    return remaining
