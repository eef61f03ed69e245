"""A job that succeeds gets its automatic evaluation (jobs.evaluations.services
.evaluation_auto_create), queued in the same transaction as its success."""

import logging
from typing import Any

from django.dispatch import receiver

from jobs.evaluations.services import evaluation_auto_create
from jobs.models import Job, job_state_changed

logger = logging.getLogger(__name__)


@receiver(job_state_changed, dispatch_uid="jobs.evaluations.auto")
def evaluate_succeeded_job(sender: Any, job: Job, status: str, **kwargs: Any) -> None:
    if status != Job.Status.SUCCEEDED:
        return
    try:
        evaluation_auto_create(job=job)
    except Exception as exc:  # the job did succeed: an evaluation that cannot start says why
        logger.exception("job %s: automatic evaluation not queued", job.pk)
        job.log(f"The automatic evaluation could not be queued: {exc}", level="warning")
