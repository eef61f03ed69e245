"""django-q2 tasks: each takes an id (or nothing), and calls a service.

The reaper runs every minute (a Schedule created by `ensure_schedules` after migrate) and at the
start of every training task, so a job whose worker was killed resumes as soon as any worker is
free, even when the broker would not redeliver its task for days.
"""

REAPER_SCHEDULE_NAME = "llmtuner: requeue jobs whose worker died"


def job_run_task(job_id):
    from jobs import services  # imported here: apps.ready imports this module for its schedule

    services.job_reap_stale()
    return services.job_run(job_id=job_id)


def job_reap_stale_task():
    from jobs import services

    return services.job_reap_stale()


def ensure_schedules(**kwargs):
    """post_migrate handler: the reaper's Schedule exists exactly once."""
    from django_q.models import Schedule

    Schedule.objects.get_or_create(
        name=REAPER_SCHEDULE_NAME,
        defaults={
            "func": "jobs.tasks.job_reap_stale_task",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
