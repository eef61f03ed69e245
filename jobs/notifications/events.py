"""Where job, dataset and evaluation events become notifications: an entry in the owner's
notifications menu and an email (job endings), and one delivery per subscribed webhook: the
owner's personal ones and, for a team's job, dataset or evaluation, the team's.

Connected by jobs.apps to the signals sent at the single places state is recorded
(jobs.models.job_state_changed from Job._move and create_queued, dataset_validated from
jobs.datasets.services.dataset_validate). Everything here runs inside the caller's transaction,
in a savepoint: a notification that cannot be written is logged and never undoes the state
change. Emails and deliveries are sent by queue tasks enqueued once the transaction commits.
"""

import logging
import uuid

from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from jobs.datasets.serializers import DatasetSerializer
from jobs.evaluations.serializers import EvaluationSerializer
from jobs.models import Dataset, Evaluation, Job, evaluation_state_changed, job_state_changed
from jobs.models.dataset import dataset_validated
from jobs.models.notifications import (
    EmailPreference,
    Notification,
    Webhook,
    WebhookDelivery,
)
from jobs.notifications import enqueue as queue
from jobs.training.serializers import JobSerializer
from tunerproject.api import site_context

logger = logging.getLogger(__name__)

# A job's states that are events (a pause is not one).
JOB_EVENTS = {status: f"job.{status}" for status in ("queued", "running", *Job.FINISHED)}
FIRST_SEND_GRACE_S = 600  # the sweep sends a delivery whose task never ran after this long


@receiver(job_state_changed, sender=Job, dispatch_uid="jobs.notifications.job_state")
def on_job_state_changed(sender, job, status, **kwargs):
    event_type = JOB_EVENTS.get(status)
    if event_type is None:
        return
    try:
        with transaction.atomic():
            if status in Job.FINISHED:
                notify_job_ended(job, status)
            hooks = _subscribed(job, event_type)
            if hooks:
                job = Job.objects.select_related("dataset", "base_model").get(pk=job.pk)
                data = JobSerializer(job, context=site_context()).data
                queue_deliveries(hooks, event_type, data)
    except Exception:
        logger.exception("job %s: could not record the %s notifications", job.pk, event_type)


@receiver(dataset_validated, sender=Dataset, dispatch_uid="jobs.notifications.dataset")
def on_dataset_validated(sender, dataset, **kwargs):
    try:
        with transaction.atomic():
            hooks = _subscribed(dataset, "dataset.validated")
            if hooks:
                data = DatasetSerializer(dataset, context=site_context()).data
                queue_deliveries(hooks, "dataset.validated", data)
    except Exception:
        logger.exception("dataset %s: could not record its webhook deliveries", dataset.pk)


@receiver(evaluation_state_changed, sender=Evaluation, dispatch_uid="jobs.notifications.evaluation")
def on_evaluation_state_changed(sender, evaluation, status, **kwargs):
    """evaluation.succeeded and evaluation.failed: a menu entry (not for the base model's half
    of a job's automatic evaluation: the tuned half speaks for both) and the webhooks."""
    if status not in (Evaluation.Status.SUCCEEDED, Evaluation.Status.FAILED):
        return
    event_type = f"evaluation.{status}"
    try:
        with transaction.atomic():
            if evaluation.role != Evaluation.Role.BASE:
                Notification.objects.create(
                    user_id=evaluation.owner_id,
                    evaluation=evaluation,
                    job_status=status,
                    message=f"Evaluation of {evaluation.model} on {evaluation.dataset.name} "
                    f"{status}"[:300],
                )
            hooks = _subscribed(evaluation, event_type)
            if hooks:
                data = EvaluationSerializer(evaluation, context=site_context()).data
                queue_deliveries(hooks, event_type, data)
    except Exception:
        logger.exception("evaluation %s: could not record its notifications", evaluation.pk)


def notify_job_ended(job, status):
    """The menu entry, and its email once the transaction commits if the owner wants one."""
    verb = {"succeeded": "succeeded", "failed": "failed", "cancelled": "was cancelled"}[status]
    notification = Notification.objects.create(
        user_id=job.owner_id, job=job, job_status=status, message=f"{job.name} {verb}"[:300]
    )
    if EmailPreference.for_user(job.owner).wants(status):
        queue.enqueue_on_commit("notification_email_task", notification.pk)
    return notification


def queue_deliveries(hooks, event_type, data):
    """One delivery per endpoint, all with the same event id and body; each is sent by its own
    task (enqueued together once the transaction commits), so a slow endpoint delays no other."""
    now = timezone.now()
    payload = {
        "id": f"msg_{uuid.uuid4().hex}",
        "type": event_type,
        "created_at": now.isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            webhook=hook,
            event_id=payload["id"],
            event_type=event_type,
            payload=payload,
            next_attempt_at=now + timezone.timedelta(seconds=FIRST_SEND_GRACE_S),
            created_at=now,
        )
        for hook in hooks
    )
    queue.enqueue_on_commit("webhook_deliver_task", *(delivery.pk for delivery in deliveries))
    return deliveries


def _subscribed(obj, event_type):
    """The endpoints of a job's or dataset's event: its owner's personal ones and, for a team's
    job or dataset, the team's (never the owner's endpoints of some other team)."""
    return Webhook.objects.receiving(
        owner_id=obj.owner_id, team_id=obj.team_id, event_type=event_type
    )
