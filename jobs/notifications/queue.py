"""Enqueueing the notification tasks (jobs.notifications.tasks) on django-q2."""

from django.conf import settings


def enqueue(task_name, *args):
    from django_q.tasks import async_task

    options = {"sync": settings.Q_CLUSTER.get("sync", False)}  # read per call, as jobs.services
    if settings.NOTIFY_CLUSTER:
        options["cluster"] = settings.NOTIFY_CLUSTER
    return async_task(f"jobs.notifications.tasks.{task_name}", *args, **options)
