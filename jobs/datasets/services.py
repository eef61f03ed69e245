"""Dataset workflows: upload (store, validate, measure), the shipped sample, delete.

Validation runs synchronously in the request, streaming the stored file: the response already
holds the report. It is deliberately not wrapped in a transaction, so a long validation never
holds a database write lock (SQLite) while it reads a large file.
"""

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from jobs.datasets.encoding import ENCODINGS
from jobs.datasets.report import Report, validate_file
from jobs.datasets.validation import mapping_problem
from jobs.engine.constants import GPT2_CONTEXT_LENGTH
from jobs.models import Dataset, Job
from jobs.models.dataset import dataset_validated
from jobs.quotas import services as quotas
from jobs.sharing.services import team_for
from tunerproject.parsers import storable

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

EXTENSIONS = {".txt": "txt", ".csv": "csv", ".json": "json", ".jsonl": "jsonl"}
SAMPLE_PATH = Path(__file__).resolve().parent.parent / "sample_data" / "shakespeare.txt"
SAMPLE_NAME = "Shakespeare: eight plays (sample)"
CONTEXT_LENGTH = GPT2_CONTEXT_LENGTH  # the share of longer examples is reported as truncated
MB = 1024 * 1024


def dataset_create(
    *,
    owner: "User",
    upload: "File[bytes]",
    name: str | None,
    column_mapping: dict[str, str] | None = None,
    encoding: str | None = "",
    skip_invalid_rows: bool = False,
    team_id: int | str | None = None,
) -> Dataset:
    """1. Refuse an unknown extension, a bad column mapping or encoding, a file over the size
       limit or over the owner's storage quota (ValidationError naming the field), or a team
       the owner is not a member or admin of (jobs.sharing.services.team_for).
    2. Stream the upload to private storage under a generated name.
    3. Validate and measure it row by row; the report is saved on the dataset either way.

    `encoding` forces how the file is read (else it is detected); with `skip_invalid_rows` the
    dataset keeps its valid rows and the report lists the ones left out."""
    column_mapping = column_mapping or {}
    filename = upload.name or ""  # an upload without a name is refused by _format_of
    fmt = _format_of(filename)
    _check_mapping(column_mapping, fmt)
    encoding = _check_encoding(encoding)
    _check_size(owner, upload.size)  # early, before the file is stored
    team = team_for(user=owner, team_id=team_id)
    dataset = Dataset(
        owner=owner,
        team=team,
        name=(name or "").strip()[:200] or Path(filename).stem[:200] or "Untitled dataset",
        original_filename=Path(filename).name[:255],
        format=fmt,
        column_mapping=column_mapping,
        size_bytes=upload.size,
        requested_encoding=encoding,
        skip_invalid_rows=bool(skip_invalid_rows),
    )
    with transaction.atomic():
        # Checked again under the owner's lock with the row saved in the same step, so that
        # concurrent uploads cannot each see the room only one of them has.
        quotas.lock_owner(owner)
        _check_size(owner, upload.size)
        # upload_to generates datasets/<owner>/<uuid>; the user's filename never reaches a path.
        dataset.file.save(filename, upload, save=True)
    return dataset_validate(dataset=dataset)


def dataset_create_sample(*, owner: "User") -> Dataset:
    """The shipped public-domain sample, created for `owner` through the same path as an upload
    (once: a second click returns the copy they already have)."""
    existing = Dataset.objects.for_user(owner).filter(
        name=SAMPLE_NAME, original_filename=SAMPLE_PATH.name, status=Dataset.Status.VALID
    )
    found = existing.first()
    if found is not None:
        return found
    with SAMPLE_PATH.open("rb") as handle:
        upload = File(handle, name=SAMPLE_PATH.name)
        return dataset_create(owner=owner, upload=upload, name=SAMPLE_NAME)


def dataset_validate(*, dataset: Dataset) -> Dataset:
    """Run every check and the statistics over the stored file and save the outcome."""
    try:
        with dataset.file.open("rb") as fileobj:
            report = validate_file(
                fileobj,
                fmt=dataset.format,
                mapping=dataset.column_mapping or None,
                min_examples=settings.DATASET_MIN_EXAMPLES,
                context_length=CONTEXT_LENGTH,
                encoding=dataset.requested_encoding or None,
                skip_invalid=dataset.skip_invalid_rows,
            )
        # The report quotes the file (field names, values): what PostgreSQL cannot store
        # (NUL, a lone surrogate) is replaced, so the user reads the report, not a failure.
        with transaction.atomic():
            _apply_report(dataset, report)
    except Exception as exc:
        # Never leave a dataset "validating" forever; the traceback goes to the log.
        logger.exception("validating dataset %s failed", dataset.pk)
        dataset.refresh_from_db()
        _save_failure(dataset, exc)
    dataset_validated.send(sender=Dataset, dataset=dataset)
    return dataset


def _apply_report(dataset: Dataset, report: Report) -> None:
    stats = dict(report.stats)
    dataset.kind = report.kind
    dataset.detected_format = report.data_format
    dataset.encoding = report.encoding
    dataset.notes = storable(report.notes)
    dataset.skipped_rows = report.skipped
    dataset.column_mapping = storable(report.mapping or dataset.column_mapping)
    dataset.errors = storable(report.errors.shown)
    dataset.error_count = report.errors.count
    dataset.num_examples = stats.pop("examples", 0)
    dataset.total_tokens = stats.pop("total_tokens", 0)
    dataset.stats = storable(stats)
    dataset.status = Dataset.Status.VALID if report.is_valid else Dataset.Status.INVALID
    dataset.save(
        update_fields=[
            "kind",
            "detected_format",
            "encoding",
            "notes",
            "skipped_rows",
            "column_mapping",
            "errors",
            "error_count",
            "num_examples",
            "total_tokens",
            "stats",
            "status",
        ]
    )


def _save_failure(dataset: Dataset, exc: Exception) -> Dataset:
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    dataset.status = Dataset.Status.INVALID
    dataset.errors = [
        {
            "line": None,
            "field": None,
            "message": storable(
                f"The file could not be validated ({reason}); the error has been logged."
            ),
        }
    ]
    dataset.error_count = 1
    dataset.save(update_fields=["status", "errors", "error_count"])
    return dataset


def _format_of(filename: str | None) -> str:
    suffix = Path(filename or "").suffix.lower()
    if suffix not in EXTENSIONS:
        shown = f"'{suffix}'" if suffix else "without an extension"
        raise ValidationError(
            {"file": [f"Files {shown} are not supported: upload .txt, .csv, .json or .jsonl."]}
        )
    return EXTENSIONS[suffix]


def _check_mapping(mapping: dict[str, str], fmt: str) -> None:
    problem = mapping_problem(mapping)
    if problem is None and mapping and fmt == "txt":
        problem = "A .txt file has no columns: leave the column mapping empty."
    if problem:
        raise ValidationError({"column_mapping": [problem]})


def _check_encoding(encoding: str | None) -> str:
    encoding = (encoding or "").strip().lower()
    aliases = {"utf8": "utf-8", "cp1252": "windows-1252", "latin1": "latin-1", "utf16": "utf-16"}
    encoding = aliases.get(encoding, encoding)
    if encoding and encoding not in ENCODINGS:
        raise ValidationError(
            {"encoding": [f"Choose one of {', '.join(ENCODINGS)}, or leave it empty to detect it."]}
        )
    return encoding


def _check_size(owner: "User", size: int) -> None:
    limit = settings.DATASET_MAX_UPLOAD_MB * MB
    if size > limit:
        raise ValidationError(
            {
                "file": [
                    f"The file is {_mb(size)}; the limit is "
                    f"{settings.DATASET_MAX_UPLOAD_MB} MB per file."
                ]
            }
        )
    quotas.check_storage(owner, size)


def dataset_check_request_size(*, content_length: str | None) -> None:
    """Refuse an API upload from its Content-Length, before the body is read: otherwise a file
    over the limit is first received in full. (The portal checks the size in the browser: its
    CSRF check reads the body before any view runs.)"""
    try:
        size = int(content_length or 0)
    except ValueError:
        return
    # The multipart envelope adds a little to the file itself.
    if size > settings.DATASET_MAX_UPLOAD_MB * MB + MB:
        raise ValidationError(
            {
                "file": [
                    f"The upload is {_mb(size)}; the limit is "
                    f"{settings.DATASET_MAX_UPLOAD_MB} MB per file."
                ]
            }
        )


def storage_used_bytes(owner: "User") -> int:
    """Everything the owner stores (datasets, checkpoints, models, zips), against the quota."""
    return quotas.storage_used_bytes(owner)


def _mb(size: float) -> str:
    return f"{size / MB:.1f} MB"


def dataset_delete(*, dataset: Dataset) -> None:
    """Remove the dataset and its file; refused while a queued or running job uses it.

    Finished jobs keep referring to the row (their history), so then the row is only marked
    deleted: it disappears from the user's lists and can never be used again."""
    uses = Job.objects.active().filter(Q(dataset=dataset) | Q(validation_dataset=dataset))
    if uses.exists():
        names = ", ".join(f"“{job.name}”" for job in uses[:3])
        raise ValidationError(
            {
                "dataset": [
                    f"This dataset is used by a queued or running job ({names}); cancel the "
                    "job or wait for it to finish, then delete the dataset."
                ]
            }
        )
    dataset.file.delete(save=False)
    if Job.objects.filter(Q(dataset=dataset) | Q(validation_dataset=dataset)).exists():
        dataset.deleted_at = timezone.now()
        dataset.save(update_fields=["deleted_at", "file"])
    else:
        dataset.delete()
