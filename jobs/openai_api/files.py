"""/files: a file is the user's Dataset, validated row by row as in the portal."""

from django.core.exceptions import ValidationError
from django.http import FileResponse, JsonResponse

from jobs.datasets.services import dataset_check_request_size, dataset_create, dataset_delete
from jobs.models import Dataset
from jobs.openai_api.auth import AuthenticatedRequest, endpoint, page_params, parse_id, throttle
from jobs.openai_api.errors import OpenAIError, from_validation, not_found
from jobs.openai_api.shaping import file_object, listing
from jobs.sharing import access

PURPOSES = ("fine-tune",)


@endpoint("GET", "POST")
def files(request: AuthenticatedRequest) -> JsonResponse:
    if request.method == "POST":
        return _upload(request)
    after, limit = page_params(request, default=100, maximum=10000)
    purpose = request.GET.get("purpose")
    if purpose and purpose not in PURPOSES:
        return JsonResponse(listing([], has_more=False))  # no file has another purpose
    rows = Dataset.objects.visible_to(request.user).order_by("-pk")
    if after:
        rows = rows.filter(pk__lt=parse_id(after, "file-", "file", "after"))
    found = list(rows[: limit + 1])
    items = [file_object(d) for d in found[:limit]]
    return JsonResponse(listing(items, has_more=len(found) > limit))


def _upload(request: AuthenticatedRequest) -> JsonResponse:
    """Multipart `file` and `purpose=fine-tune`; the answer carries the validation outcome
    (status "error" with the first problems in status_details)."""
    throttle(request, "upload")
    try:
        dataset_check_request_size(content_length=request.META.get("CONTENT_LENGTH"))
    except ValidationError as exc:
        raise from_validation(exc) from exc
    purpose = request.POST.get("purpose")
    if purpose not in PURPOSES:
        raise OpenAIError(
            f"purpose must be 'fine-tune' (got {purpose!r}): files here are training data.",
            param="purpose",
        )
    upload = request.FILES.get("file")
    if upload is None:
        raise OpenAIError("Send the data as a multipart field named `file`.", param="file")
    dataset = dataset_create(owner=request.user, upload=upload, name=upload.name)
    return JsonResponse(file_object(dataset))


def _dataset(request: AuthenticatedRequest, file_id: str) -> Dataset:
    pk = parse_id(file_id, "file-", "file")
    dataset = Dataset.objects.visible_to(request.user).filter(pk=pk).first()
    if dataset is None:
        raise not_found("file", file_id)
    return dataset


@endpoint("GET", "DELETE")
def file_detail(request: AuthenticatedRequest, file_id: str) -> JsonResponse:
    dataset = _dataset(request, file_id)
    if request.method == "GET":
        return JsonResponse(file_object(dataset))
    access.require_change(request.user, dataset)
    try:
        dataset_delete(dataset=dataset)
    except ValidationError as exc:
        raise OpenAIError(" ".join(exc.messages), status=409, code="file_in_use") from exc
    return JsonResponse({"id": file_id, "object": "file", "deleted": True})


@endpoint("GET")
def file_content(request: AuthenticatedRequest, file_id: str) -> FileResponse:
    dataset = _dataset(request, file_id)
    return FileResponse(
        dataset.file.open("rb"),
        as_attachment=True,
        filename=dataset.original_filename,
        content_type="application/octet-stream",
    )
