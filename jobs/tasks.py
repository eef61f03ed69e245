"""Task paths stored by versions before the packages were reorganised (2026-12).

django-q2 keeps a task's dotted path in its queue rows and schedules: tickets queued, and the
reaper's schedule made, before an upgrade still name `jobs.tasks.*`. They run the tasks where
they live now. The next `manage.py migrate` repoints the schedules
(jobs.fleet.schedules.ensure_schedule); once no queue row names these paths, this module can go.
"""

from jobs.training.tasks import job_reap_stale_task, job_run_task

__all__ = ["job_reap_stale_task", "job_run_task"]
