"""Enqueueing the notification tasks (jobs.notifications.tasks) on django-q2."""

from django.conf import settings
from django.db import transaction
from django_q.tasks import async_task

TASKS = "jobs.notifications.tasks"
TASK_NAMES = ("notification_email_task", "webhook_deliver_task")  # what may be enqueued here


def enqueue(task_name: str, *ids: int) -> list[str]:
    """One task per id, `jobs.notifications.tasks.<task_name>(id)`, enqueued together.

    In one transaction: django-q2's ORM broker closes the database connection before each
    enqueue made outside one (its guard against stale connections in its own threads), and
    reopening it cost more than everything else a state change with webhooks does (see
    bench/notifications.py)."""
    if task_name not in TASK_NAMES:
        raise ValueError(f"No notification task {task_name!r}: one of {', '.join(TASK_NAMES)}.")
    # sync is read per call (django-q reads its own copy once at import), as tickets.enqueue.
    options = {"sync": settings.Q_CLUSTER.get("sync", False)}
    if settings.NOTIFY_CLUSTER:
        options["cluster"] = settings.NOTIFY_CLUSTER
    if options["sync"]:  # run here, one after the other, as a worker would
        return [async_task(f"{TASKS}.{task_name}", pk, **options) for pk in ids]
    with transaction.atomic():
        return [async_task(f"{TASKS}.{task_name}", pk, **options) for pk in ids]


def enqueue_on_commit(task_name: str, *ids: int) -> None:
    """Enqueue once the caller's transaction commits. Robust: a queue that cannot be reached
    is logged and never fails the state change that caused it (the sweep sends the deliveries
    later; see jobs.notifications.tasks)."""
    transaction.on_commit(lambda: enqueue(task_name, *ids), robust=True)
