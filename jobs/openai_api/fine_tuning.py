"""/fine_tuning/jobs: a fine-tuning job is the user's Job, launched through jobs.training.services
with the platform's auto-configuration filling whatever the client leaves "auto"."""

import re
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db.models.fields.json import KeyTextTransform
from django.http import HttpRequest, JsonResponse
from django.http.response import HttpResponseBase

from jobs.models import Checkpoint, Dataset, Job
from jobs.openai_api.auth import (
    AuthenticatedRequest,
    endpoint,
    json_body,
    page_params,
    parse_id,
    throttle,
)
from jobs.openai_api.errors import OpenAIError, from_validation, not_found
from jobs.openai_api.requests import fine_tune_request
from jobs.openai_api.shaping import (
    checkpoint_object,
    event_object,
    job_object,
    listing,
    validation_details,
)
from jobs.planning.autoconfig import job_estimate
from jobs.sharing import access
from jobs.training.services import job_cancel, job_launch, job_pause, job_resume
from tunerproject.parsers import UNSTORABLE, unstorable

METADATA_FILTER = re.compile(r"^metadata\[([A-Za-z0-9_.-]{1,64})\]$")


@endpoint("GET", "POST")
def jobs(request: AuthenticatedRequest) -> JsonResponse:
    if request.method == "POST":
        return _create(request)
    after, limit = page_params(request)
    rows = (
        Job.objects.visible_to(request.user).select_related("base_model", "owner").order_by("-pk")
    )
    for index, (name, value) in enumerate(request.GET.items()):
        match = METADATA_FILTER.fullmatch(name)
        if match:
            if unstorable(value):  # PostgreSQL refuses to compare with NUL: no job holds it
                raise OpenAIError(f"{UNSTORABLE} (at {name}).", param=name)
            # The key is a plain key, never a lookup: k__regex must not reach the ORM as one.
            alias = f"metadata_value_{index}"
            rows = rows.alias(**{alias: KeyTextTransform(match.group(1), "metadata")})
            rows = rows.filter(**{alias: value})
        elif name.startswith("metadata"):
            raise OpenAIError(
                f"Filter by metadata as metadata[key]=value, not {name!r}.", param=name
            )
    if after:
        rows = rows.filter(pk__lt=parse_id(after, "ftjob-", "fine_tuning_job", "after"))
    found = list(rows[: limit + 1])
    return JsonResponse(
        listing([job_object(j) for j in found[:limit]], has_more=len(found) > limit)
    )


def _create(request: AuthenticatedRequest) -> JsonResponse:
    """1. Check the request's shape (jobs.openai_api.requests).
    2. Find the files among the user's datasets; an invalid one is a 422 with its report.
    3. A learning_rate_multiplier scales the auto-configured learning rate (resolved first).
    4. Launch through job_launch; the suffix and metadata are stored on the job."""
    throttle(request, "launch")
    values = fine_tune_request(json_body(request))
    dataset = _file(request, values["training_file"], "training_file")
    validation = None
    if values.get("validation_file"):
        validation = _file(request, values["validation_file"], "validation_file")
    requested, multiplier = values["hyperparameters"], values["learning_rate_multiplier"]
    launch = {
        "owner": request.user,
        "dataset": dataset,
        "validation_dataset": validation,
        "base_model_key": values["model_key"],
    }
    if multiplier is not None:
        planned = job_estimate(method="full", hyperparameters=requested, **launch)
        requested["learning_rate"] = planned["hyperparameters"]["learning_rate"] * multiplier
    job = job_launch(
        name=values["suffix"],
        hyperparameters=requested,
        suffix=values["suffix"],
        metadata=values["metadata"],
        **launch,
    )
    if multiplier is not None:
        job.requested_hyperparameters["learning_rate_multiplier"] = multiplier
        job.save(update_fields=["requested_hyperparameters"])
    return JsonResponse(job_object(job))


def _file(request: AuthenticatedRequest, file_id: str, param: str) -> Dataset:
    pk = parse_id(file_id, "file-", "file", param)
    dataset = Dataset.objects.visible_to(request.user).filter(pk=pk).first()
    if dataset is None:
        raise not_found("file", file_id, param)
    if dataset.status != Dataset.Status.VALID:
        raise OpenAIError(
            f"{file_id} is not a valid training file: {validation_details(dataset)}",
            status=422,
            param=param,
            code="invalid_file",
        )
    return dataset


def _job(request: AuthenticatedRequest, job_id: str) -> Job:
    pk = parse_id(job_id, "ftjob-", "fine_tuning_job")
    visible = Job.objects.visible_to(request.user).select_related("base_model", "owner")
    job = visible.filter(pk=pk).first()
    if job is None:
        raise not_found("fine_tuning_job", job_id)
    return job


@endpoint("GET")
def job_detail(request: AuthenticatedRequest, job_id: str) -> JsonResponse:
    return JsonResponse(job_object(_job(request, job_id)))


def _transition(service: Callable[..., Job]) -> Callable[[HttpRequest, str], HttpResponseBase]:
    """A POST that moves the job (cancel, pause, resume); a state that forbids it is a 409."""

    @endpoint("POST")
    def view(request: AuthenticatedRequest, job_id: str) -> JsonResponse:
        try:
            job = _job(request, job_id)
            access.require_change(request.user, job)
            job = service(job=job)
        except ValidationError as exc:
            raise from_validation(exc, status=409) from exc
        return JsonResponse(job_object(job))

    return view


job_cancel_view = _transition(job_cancel)
job_pause_view = _transition(job_pause)
job_resume_view = _transition(job_resume)


@endpoint("GET")
def job_events(request: AuthenticatedRequest, job_id: str) -> JsonResponse:
    job = _job(request, job_id)
    after, limit = page_params(request)
    rows = job.events.order_by("-pk")
    if after:
        rows = rows.filter(pk__lt=parse_id(after, "ftevent-", "event", "after"))
    found = list(rows[: limit + 1])
    items = [event_object(e) for e in found[:limit]]
    return JsonResponse(listing(items, has_more=len(found) > limit))


@endpoint("GET")
def job_checkpoints(request: AuthenticatedRequest, job_id: str) -> JsonResponse:
    job = _job(request, job_id)
    after, limit = page_params(request, default=10)
    rows = Checkpoint.objects.filter(job=job).order_by("-pk")
    if after:
        rows = rows.filter(pk__lt=parse_id(after, "ftckpt-", "checkpoint", "after"))
    found = list(rows[: limit + 1])
    items = [checkpoint_object(c, job) for c in found[:limit]]
    return JsonResponse(listing(items, has_more=len(found) > limit))
