"""django-q2 tasks of notifications: each takes an id (or nothing) and calls a service.

The sweep runs every minute (a Schedule made after migrate, see ensure_schedule): it sends the
deliveries whose retry is due, and any whose first task was lost.
"""

from jobs.fleet.schedules import drop_waiting
from jobs.fleet.schedules import ensure_schedule as ensure_schedule_once
from jobs.notifications import services

SWEEP_SCHEDULE_NAME = "llmtuner: send webhook deliveries that are due"
SWEEP_FUNC = "jobs.notifications.tasks.webhook_deliver_due_task"


def notification_email_task(notification_id):
    return services.notification_email_send(notification_id=notification_id)


def webhook_deliver_task(delivery_id):
    return services.webhook_deliver(delivery_id=delivery_id)


def webhook_deliver_due_task():
    sent = services.webhook_deliver_due()
    drop_waiting_sweeps()
    return sent


def drop_waiting_sweeps():
    """Delete the sweeps still waiting in the queue (jobs.fleet.schedules); how many."""
    return drop_waiting(SWEEP_FUNC)


def ensure_schedule(**kwargs):
    """post_migrate handler: the sweep's Schedule exists exactly once."""
    ensure_schedule_once(name=SWEEP_SCHEDULE_NAME, func=SWEEP_FUNC)
