"""django-q2 tasks of notifications: each takes an id (or nothing) and calls a service.

The sweep runs every minute (a Schedule made after migrate, see ensure_schedule): it sends the
deliveries whose retry is due, and any whose first task was lost.
"""

from jobs.notifications import services
from jobs.tasks import drop_waiting

SWEEP_SCHEDULE_NAME = "llmtuner: send webhook deliveries that are due"


def notification_email_task(notification_id):
    return services.notification_email_send(notification_id=notification_id)


def webhook_deliver_task(delivery_id):
    return services.webhook_deliver(delivery_id=delivery_id)


def webhook_deliver_due_task():
    sent = services.webhook_deliver_due()
    drop_waiting_sweeps()
    return sent


def drop_waiting_sweeps():
    """Delete the sweeps still waiting in the queue; returns how many. As with the reaper
    (jobs.tasks.drop_waiting_reapers): while every worker trains, the schedule adds one a
    minute, and one run does the work of all of them."""
    return drop_waiting(f"{__name__}.webhook_deliver_due_task")


def ensure_schedule(**kwargs):
    """post_migrate handler: the sweep's Schedule exists exactly once."""
    from django_q.models import Schedule

    Schedule.objects.get_or_create(
        name=SWEEP_SCHEDULE_NAME,
        defaults={
            "func": "jobs.notifications.tasks.webhook_deliver_due_task",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
