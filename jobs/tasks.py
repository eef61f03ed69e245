"""django-q2 tasks: each takes an id (or nothing), and calls a service.

The reaper task requeues running jobs whose worker died and queued jobs whose task left the
queue without running them (jobs.services.job_reap_stale, job_requeue_lost).

The reaper runs every minute (a Schedule created by `ensure_schedules` after migrate; copies that
piled up in the queue meanwhile are dropped by the first to run) and at the start of every
training task, so a job whose worker was killed resumes as soon as any worker is free, even when
the broker would not redeliver its task for days.

jobs.apps imports this module once the models are loaded (for `ensure_schedules`); nothing here
or in jobs.services imports torch at module level, so the qcluster parent never loads it.
"""

from django.conf import settings
from django_q.models import OrmQ, Schedule

from jobs import services

REAPER_SCHEDULE_NAME = "llmtuner: requeue jobs whose worker died"


def job_run_task(job_id):
    """A ticket in a pool's queue: runs the pool's fairest queued job (not necessarily job_id)."""
    services.job_reap_stale()
    return services.job_run_next(ticket_id=job_id)


def job_reap_stale_task():
    handled = services.job_reap_stale() + services.job_requeue_lost()
    for pool in services.pools_with_queued_jobs():
        services.job_top_up(pool=pool, older_than_s=60)
    drop_waiting_reapers()
    return handled


def drop_waiting_reapers():
    """Delete the reaper tasks still waiting in the queue; returns how many.

    The schedule adds one every minute whether or not a worker is free, so while every worker
    trains they pile up behind the job (60 an hour), and each would take a fresh process
    (recycle=1) before the next training job starts. One run does the work of all of them."""
    return drop_waiting(f"{__name__}.job_reap_stale_task")


def drop_waiting(func):
    """Delete the tasks of `func` (a dotted path) still waiting in the queue; returns how many.
    For scheduled tasks whose one run does the work of every copy that piled up."""
    waiting = OrmQ.objects.filter(key=settings.Q_CLUSTER["name"])
    stale = [task.pk for task in waiting if task.func() == func]
    return OrmQ.objects.filter(pk__in=stale).delete()[0]


def ensure_schedules(**kwargs):
    """post_migrate handler: the reaper's Schedule exists exactly once."""
    Schedule.objects.get_or_create(
        name=REAPER_SCHEDULE_NAME,
        defaults={
            "func": "jobs.tasks.job_reap_stale_task",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
