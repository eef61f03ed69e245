"""An evaluation's tickets in its pool's django-q2 queue, beside the jobs' tickets.

A ticket (`jobs.evaluations.tasks.evaluation_run_task`) makes the worker that takes it run the
pool's fairest queued evaluation (jobs.evaluations.worker.evaluation_run_next), as a job's
ticket does for jobs (jobs.training.tickets); the reaper reads them back on the ORM broker.
"""

from django.conf import settings
from django.utils import timezone
from django_q.models import OrmQ
from django_q.tasks import async_task

from jobs.training.tickets import queue_name

TASK = "jobs.evaluations.tasks.evaluation_run_task"


def enqueue(evaluation_id: int, pool: str) -> None:
    async_task(
        TASK,
        evaluation_id,
        cluster=queue_name(pool),
        sync=settings.Q_CLUSTER.get("sync", False),
    )


def waiting_tickets(pool: str, *, in_flight: bool = True) -> list[int] | None:
    """The evaluation ids of the tickets in the pool's queue, or None where it cannot be read
    back (see jobs.training.tickets.waiting_tickets)."""
    if not settings.Q_CLUSTER.get("orm") or settings.Q_CLUSTER.get("sync"):
        return None
    key = queue_name(pool) or settings.Q_CLUSTER["name"]
    rows = OrmQ.objects.filter(key=key)
    if not in_flight:
        rows = rows.filter(lock__lte=timezone.now())
    return [task.args()[0] for task in rows if task.func() == TASK and task.args()]
