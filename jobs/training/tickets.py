"""A job's tickets in its pool's django-q2 queue.

A ticket is a task in the pool's queue (`jobs.training.tasks.job_run_task`); the worker that
takes it runs the pool's fairest queued job, which need not be the ticket's job
(jobs.training.worker.job_run_next). The ORM broker's rows can be read back, so the reaper can
tell which queued jobs have lost theirs.
"""

from django.conf import settings
from django.utils import timezone
from django_q.models import OrmQ
from django_q.tasks import async_task

TASK = "jobs.training.tasks.job_run_task"
# The same task as tickets queued before the reorganisation name it (jobs/tasks.py runs them).
LEGACY_TASKS = ("jobs.tasks.job_run_task",)


def queue_name(pool: str) -> str | None:
    """The django-q2 queue (cluster) a pool's workers serve: the default one for DEFAULT_POOL."""
    return None if pool == settings.DEFAULT_POOL else pool


def enqueue(job_id: int, pool: str) -> None:
    """A ticket in the pool's queue: the task it starts runs the pool's fairest queued job,
    which need not be `job_id` (see job_run_next)."""
    # sync is read per call (django-q reads its own copy once at import).
    async_task(
        TASK,
        job_id,
        cluster=queue_name(pool),
        sync=settings.Q_CLUSTER.get("sync", False),
    )


def waiting_tickets(pool: str, *, in_flight: bool = True) -> list[int] | None:
    """The job ids of the tickets in the pool's queue (the ORM broker's rows), or None where
    the broker's queue cannot be read back. in_flight=False leaves out the tickets a worker
    has taken (the broker locks them into the future) and not finished."""
    if not settings.Q_CLUSTER.get("orm") or settings.Q_CLUSTER.get("sync"):
        return None
    key = queue_name(pool) or settings.Q_CLUSTER["name"]
    rows = OrmQ.objects.filter(key=key)
    if not in_flight:
        rows = rows.filter(lock__lte=timezone.now())
    tickets = (TASK, *LEGACY_TASKS)
    return [task.args()[0] for task in rows if task.func() in tickets and task.args()]
