"""Tasks django-q2 runs every minute: one Schedule each, and no pile of waiting copies.

A schedule adds its task every minute whether or not a worker is free, so while every worker
trains the copies pile up behind the job (60 an hour), and each would take a fresh process
(recycle=1) before the next training job starts. The tasks that use these helpers do in one run
the work of every copy, so the first to run drops the rest.
"""

from django.conf import settings
from django_q.models import OrmQ, Schedule


def ensure_schedule(*, name: str, func: str) -> None:
    """The Schedule `name` exists exactly once, every minute, and runs `func` (a dotted path):
    a schedule made before its task moved to another module is pointed at the new path."""
    schedule, _ = Schedule.objects.get_or_create(
        name=name,
        defaults={"func": func, "schedule_type": Schedule.MINUTES, "minutes": 1, "repeats": -1},
    )
    if schedule.func != func:
        Schedule.objects.filter(pk=schedule.pk).update(func=func)


def drop_waiting(func: str) -> int:
    """Delete the tasks of `func` (a dotted path) still waiting in the queue; returns how many."""
    waiting = OrmQ.objects.filter(key=settings.Q_CLUSTER["name"])
    stale = [task.pk for task in waiting if task.func() == func]
    return OrmQ.objects.filter(pk__in=stale).delete()[0]
