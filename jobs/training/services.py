"""What people do to jobs from the portal and the APIs: launch, cancel, pause, resume, delete.

The job row, not the queue, is the source of truth, and it changes state only through its own
lifecycle methods (jobs/models/job_lifecycle.py), each one conditional UPDATE; these workflows
decide which to call and do what lies outside the row (a ticket in the queue, files). What a
worker runs is jobs.training.worker; model downloads are jobs.training.downloads.

Deleting: a queued or running job must be cancelled first; a job another job continues from
cannot be deleted while that job exists.
"""

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction

from jobs.catalog.services import checkpoint_step_of
from jobs.engine.patterns import compile_regex
from jobs.models import Dataset, Job
from jobs.planning import autoconfig, routing
from jobs.quotas import services as quotas
from jobs.sharing.services import team_for
from jobs.training.tickets import enqueue

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def job_launch(
    *,
    owner: "User",
    name: str | None,
    dataset: Dataset,
    base_model_key: str,
    method: str = "full",
    hyperparameters: dict[str, Any] | None = None,
    validation_dataset: Dataset | None = None,
    suffix: str = "",
    metadata: dict[str, Any] | None = None,
    team_id: int | str | None = None,
    pool: str | None = None,
    auto_evaluation: bool = True,
    evaluation_regex: str = "",
) -> Job:
    """1. Check the user's job quotas (jobs.quotas.services) and the team it goes into, if any
       (a member's or admin's team; jobs.sharing.services.team_for).
    2. Check the request as the estimate does (autoconfig.plan_request): the datasets are the
       owner's and usable, the method known, the base model usable; resolve every
       hyperparameter and estimate time, memory and cost.
    3. Route it: the chosen pool if it can take it, else the cheapest live pool that fits
       (jobs.planning.routing); refused with the reason when none can.
    4. Save the job as queued with a JobEvent; enqueue its task once the transaction commits.
    Once it succeeds it is evaluated on held-out examples unless `auto_evaluation` is False
    (jobs.evaluations), with `evaluation_regex` as a metric if given."""
    quotas.check_job_quota(owner)
    evaluation_regex = _checked_regex(evaluation_regex)
    team = team_for(user=owner, team_id=team_id)
    requested = dict(hyperparameters or {})
    base_model, parent_job, planned = autoconfig.plan_request_on_pools(
        owner=owner,
        dataset=dataset,
        base_model_key=base_model_key,
        method=method,
        hyperparameters=requested,
        validation_dataset=validation_dataset,
    )
    estimate = planned["estimate"]
    auto = estimate.pop("auto_evaluation", None)
    if auto is not None and not auto_evaluation:
        estimate["wall_seconds"] = round(estimate["wall_seconds"] - auto["seconds"], 1)
        estimate["cost"] = round(estimate["cost"] - auto["cost"], 6)
    elif auto is not None:
        estimate["auto_evaluation"] = auto
    chosen = routing.route(requested_pool=pool, offers=estimate["pools"])
    with transaction.atomic():
        # The quota checked again under the owner's lock: the check and the new row are one
        # step, however many launches arrive at once (the first check refused early).
        quotas.lock_owner(owner)
        quotas.check_job_quota(owner)
        job = Job.objects.create_queued(
            pool=chosen,
            owner=owner,
            team=team,
            name=(name or "").strip()[:200] or f"{base_model.display_name} on {dataset.name}"[:200],
            dataset=dataset,
            validation_dataset=validation_dataset,
            base_model=base_model,
            parent_job=parent_job,
            parent_checkpoint_step=checkpoint_step_of(base_model_key) if parent_job else None,
            method=method,
            requested_hyperparameters=requested,
            hyperparameters=planned["hyperparameters"],
            hyperparameter_reasons=planned["reasons"],
            total_steps=planned["total_steps"],
            estimate=estimate,
            suffix=suffix,
            metadata=metadata or {},
            auto_evaluation=auto_evaluation,
            evaluation_regex=evaluation_regex,
        )
        transaction.on_commit(lambda: enqueue(job.pk, job.pool))
    return job


def _checked_regex(text: str) -> str:
    text = (text or "").strip()
    if text:
        try:
            compile_regex(text)
        except ValueError as exc:
            raise ValidationError({"evaluation_regex": [str(exc)]}) from exc
    return text


def job_cancel(*, job: Job) -> Job:
    """Cancel a queued job at once, or ask a running one to stop (Job.request_cancel); a
    finished job is refused with the reason. Returns the job as it is now."""
    # The job may move between queued and running while we ask (a worker claims it, the reaper
    # requeues it): ask again on what we read next, until one request takes or none applies.
    for _ in range(5):
        if job.request_cancel():
            break
        job.refresh_from_db(fields=["status", "cancel_requested"])
        if job.is_finished or job.cancel_requested:
            break
    job.refresh_from_db()
    return job


def job_pause(*, job: Job) -> Job:
    """Pause a queued job at once, or ask a running one to write a checkpoint and stop
    (Job.request_pause); a finished or paused job is refused with the reason. Returns the job
    as it is now."""
    for _ in range(5):  # as in job_cancel: ask again on what we read next if the job moved
        if job.request_pause():
            break
        job.refresh_from_db(fields=["status", "pause_requested", "cancel_requested"])
        if job.is_finished or job.pause_requested or job.cancel_requested:
            break
    job.refresh_from_db()
    return job


def job_resume(*, job: Job) -> Job:
    """Queue a paused job again (Job.resume); its task continues from the newest checkpoint
    once the transaction commits. Anything but a paused job is refused with the reason."""
    with transaction.atomic():
        if job.resume():
            transaction.on_commit(lambda: enqueue(job.pk, job.pool))
    job.refresh_from_db()
    return job


def job_delete(*, job: Job) -> None:
    """Delete a finished job; its files (checkpoints, model, zip) go with it
    (jobs.training.signals)."""
    if not job.is_finished:
        reason = f"Job {job.pk} is {job.status}: cancel it, then delete it once it has stopped."
        raise ValidationError({"status": [reason]})
    children = sorted(job.child_jobs.values_list("pk", flat=True))
    if children:
        listed = ", ".join(f"#{pk}" for pk in children)
        reason = f"Other jobs continue from job {job.pk}'s model ({listed}): delete them first."
        raise ValidationError({"status": [reason]})
    job.delete()
