"""django-q2 tasks: each takes an id (or nothing), and calls a service.

The reaper task requeues running jobs whose worker died and queued jobs whose task left the
queue without running them (jobs.training.worker.job_reap_stale, job_requeue_lost).

The reaper runs every minute (a Schedule created by `ensure_schedules` after migrate; copies that
piled up in the queue meanwhile are dropped by the first to run) and at the start of every
training task, so a job whose worker was killed resumes as soon as any worker is free, even when
the broker would not redeliver its task for days.

jobs.apps imports this module once the models are loaded (for `ensure_schedules`); nothing here
or in jobs.training.worker imports torch at module level, so the qcluster parent never loads it.
"""

from jobs.fleet.schedules import drop_waiting, ensure_schedule
from jobs.training import worker

REAPER_SCHEDULE_NAME = "llmtuner: requeue jobs whose worker died"
REAPER_FUNC = "jobs.training.tasks.job_reap_stale_task"


def job_run_task(job_id):
    """A ticket in a pool's queue: runs the pool's fairest queued job (not necessarily job_id)."""
    worker.job_reap_stale()
    return worker.job_run_next(ticket_id=job_id)


def job_reap_stale_task():
    handled = worker.job_reap_stale() + worker.job_requeue_lost()
    for pool in worker.pools_with_queued_jobs():
        worker.job_top_up(pool=pool, older_than_s=60)
    drop_waiting_reapers()
    return handled


def drop_waiting_reapers():
    """Delete the reaper tasks still waiting in the queue (jobs.fleet.schedules); how many."""
    return drop_waiting(REAPER_FUNC)


def ensure_schedules(**kwargs):
    """post_migrate handler: the reaper's Schedule exists exactly once."""
    ensure_schedule(name=REAPER_SCHEDULE_NAME, func=REAPER_FUNC)
