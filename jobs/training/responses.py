"""Answers the API and the pages share: a job's model and checkpoints as downloads, and the
409 for a job whose state does not allow what was asked."""

from pathlib import Path

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse, HttpResponseRedirect
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound

from jobs.models import Job
from jobs.storage import files
from jobs.training.downloads import checkpoint_model_zip, job_model_file


class Conflict(APIException):
    """The request is valid but the job's state does not allow it (yet)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def messages_of(exc: Exception) -> list[str]:
    return exc.messages if isinstance(exc, DjangoValidationError) else [str(exc)]


def checkpoint_zip_response(job: Job, step: int) -> FileResponse:
    """A kept checkpoint as a model zip; 404 naming the kept steps when there is none."""
    try:
        path = checkpoint_model_zip(job=job, step=step)
    except DjangoValidationError as exc:
        raise NotFound(" ".join(messages_of(exc))) from exc
    filename = f"llm-tuner-job-{job.pk}-step-{step}-model.zip"
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=filename, content_type="application/zip"
    )


def model_file_response(
    job: Job,
    *,
    format: str = "zip",
    quant: str = "q8_0",  # noqa: A002  (the API's name)
) -> FileResponse | HttpResponseRedirect:
    """The job's model in `format` as a download; Conflict while there is no such file."""
    try:
        path, filename, content_type = job_model_file(job=job, file_format=format, quant=quant)
    except DjangoValidationError as exc:
        raise Conflict(" ".join(messages_of(exc))) from exc
    if files.remote():
        # Straight from the store, for this user only: a URL that expires in minutes.
        return HttpResponseRedirect(files.download_url(path, filename))
    return FileResponse(  # local storage: path is a Path (a str only names a stored object)
        Path(path).open("rb"), as_attachment=True, filename=filename, content_type=content_type
    )
