"""Answers the datasets API and pages share."""

from django.http import FileResponse

from jobs.models import Dataset


def dataset_file_response(dataset: Dataset) -> FileResponse:
    """The file as uploaded, as a download under its original name."""
    return FileResponse(
        dataset.file.open("rb"),
        as_attachment=True,
        filename=dataset.original_filename,
        content_type="application/octet-stream",
    )
