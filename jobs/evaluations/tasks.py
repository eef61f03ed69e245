"""django-q2 tasks of evaluations: each takes an id (or nothing) and calls the worker's service.

The reaper runs every minute (its own Schedule, made after migrate) and at the start of every
evaluation task, so an evaluation whose worker died starts again as soon as a worker is free.
"""

from jobs.evaluations import worker
from jobs.fleet.schedules import drop_waiting, ensure_schedule

REAPER_SCHEDULE_NAME = "llmtuner: requeue evaluations whose worker died"
REAPER_FUNC = "jobs.evaluations.tasks.evaluation_reap_stale_task"


def evaluation_run_task(evaluation_id: int) -> str:
    """A ticket in a pool's queue: runs the pool's fairest queued evaluation."""
    worker.evaluation_reap_stale()
    return worker.evaluation_run_next(ticket_id=evaluation_id)


def evaluation_reap_stale_task() -> list[int]:
    handled = worker.evaluation_reap_stale()
    for pool in worker.evaluation_pools():
        worker.evaluation_top_up(pool=pool, older_than_s=60)
    drop_waiting(REAPER_FUNC)
    return handled


def ensure_schedules(**kwargs: object) -> None:
    """post_migrate handler: the evaluation reaper's Schedule exists exactly once."""
    ensure_schedule(name=REAPER_SCHEDULE_NAME, func=REAPER_FUNC)
