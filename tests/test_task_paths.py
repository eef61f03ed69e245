"""Every task the code queues or schedules by its dotted path resolves to the function it means.

django-q2 stores a task as a string; neither the import contracts nor mypy read strings, so a
moved module would otherwise show only when a worker fails to run its task."""

from django.utils.module_loading import import_string

from jobs.notifications import enqueue
from jobs.notifications import tasks as notification_tasks
from jobs.training import tasks as training_tasks
from jobs.training import tickets


def test_the_queued_and_scheduled_task_paths_import():
    paths = {
        tickets.TASK: training_tasks.job_run_task,
        training_tasks.REAPER_FUNC: training_tasks.job_reap_stale_task,
        notification_tasks.SWEEP_FUNC: notification_tasks.webhook_deliver_due_task,
    }
    paths.update(
        {
            f"{enqueue.TASKS}.{name}": getattr(notification_tasks, name)
            for name in enqueue.TASK_NAMES
        }
    )
    for path, function in paths.items():
        assert import_string(path) is function, path


def test_tickets_and_schedules_stored_before_the_reorganisation_still_run_the_same_tasks():
    assert tickets.LEGACY_TASKS == ("jobs.tasks.job_run_task",)
    assert import_string("jobs.tasks.job_run_task") is training_tasks.job_run_task
    assert import_string("jobs.tasks.job_reap_stale_task") is training_tasks.job_reap_stale_task
