"""Portal pages for datasets: list + upload, detail (report, statistics, preview), download,
delete, and the one-click sample.

Every view starts from the datasets the user may see (`_get_dataset_for_user`, through
jobs.sharing.access): anyone else's is a 404, and deleting asks jobs.sharing.access.may_change (403
for a viewer).
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.throttles import portal_throttle
from jobs.datasets import reader, services
from jobs.datasets.formats import FORMATS
from jobs.datasets.forms import DatasetUploadForm
from jobs.datasets.responses import dataset_file_response
from jobs.models import Dataset, Job
from jobs.sharing import access
from jobs.sharing.forms import SpaceForm, show_teams


def _get_dataset_for_user(request, pk, *, change=False):
    dataset = access.get_visible_or_404(
        Dataset.objects.select_related("team", "owner"), request.user, pk
    )
    if change:
        access.require_change(request.user, dataset)
    return dataset


def _wants_json(request):
    return "application/json" in request.headers.get("Accept", "")


@login_required
@require_http_methods(["GET", "POST"])
def dataset_list(request):
    form = DatasetUploadForm()
    show_teams(form, request.user)
    if request.method == "POST":
        throttled = portal_throttle(request, "upload")  # counted as the API's uploads are
        if throttled is not None:
            if _wants_json(request):
                wait = throttled["Retry-After"]
                message = f"Too many uploads: try again in {wait} s."
                answer = JsonResponse({"errors": {"__all__": [{"message": message}]}}, status=429)
                answer["Retry-After"] = wait
                return answer
            return throttled
        form = DatasetUploadForm(request.POST, request.FILES)
        show_teams(form, request.user)
        dataset = _create_from_form(request, form)
        if dataset is not None:
            url = reverse("dataset-detail", args=[dataset.pk])
            return (
                JsonResponse({"url": url, "status": dataset.status}, status=201)
                if _wants_json(request)
                else redirect(url)
            )
        if _wants_json(request):
            return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    return render(
        request,
        "jobs/dataset_list.html",
        _list_context(request, form),
        status=400 if form.errors else 200,
    )


def _create_from_form(request, form):
    if not form.is_valid():
        return None
    try:
        return services.dataset_create(
            owner=request.user,
            upload=form.cleaned_data["file"],
            name=form.cleaned_data["name"],
            column_mapping=form.column_mapping(),
            encoding=form.cleaned_data["encoding"],
            skip_invalid_rows=form.cleaned_data["skip_invalid_rows"],
            team_id=form.cleaned_data["team"] or None,
        )
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return None


def _list_context(request, form):
    used = services.storage_used_bytes(request.user)
    quota = settings.USER_STORAGE_QUOTA_MB * services.MB
    return {
        "datasets": _with_format_labels(
            Dataset.objects.visible_to(request.user).select_related("team", "owner")
        ),
        "form": form,
        "used_bytes": used,
        "quota_bytes": quota,
        "used_percent": min(100, round(100 * used / quota)),
        "max_upload_mb": settings.DATASET_MAX_UPLOAD_MB,
        "min_examples": settings.DATASET_MIN_EXAMPLES,
    }


@login_required
@require_POST
def dataset_sample(request):
    try:
        dataset = services.dataset_create_sample(owner=request.user)
    except ValidationError as exc:
        for error in exc.messages:  # the storage quota, most likely: say so on the list page
            messages.error(request, error)
        return redirect("dataset-list")
    messages.success(
        request, "The sample dataset is ready: eight Shakespeare plays, one speech per example."
    )
    return redirect("dataset-detail", pk=dataset.pk)


@login_required
@require_GET
def dataset_detail(request, pk):
    dataset = _get_dataset_for_user(request, pk)
    context = {
        "dataset": dataset,
        "preview": reader.preview_examples(dataset),
        "chart": _histogram_chart(
            dataset.stats.get("histogram") or [], dataset.stats.get("context_length")
        ),
        "errors_not_shown": max(0, dataset.error_count - len(dataset.errors)),
        "format_label": format_label(dataset),
        # Only columns read under another name than the format's field are worth showing.
        "renamed_columns": {
            key: column for key, column in dataset.column_mapping.items() if key != column
        },
        "format_template": getattr(
            FORMATS.get(reader.data_format_of(dataset) or ""), "template", ""
        ),
        "truncated_percent": round(100 * (dataset.stats.get("truncated_share") or 0), 1),
        "active_jobs": Job.objects.visible_to(request.user).active().filter(dataset=dataset),
        "can_change": access.may_change(request.user, dataset),
        "space_form": SpaceForm(user=request.user, initial={"team": dataset.team_id or ""})
        if access.may_manage(request.user, dataset)
        else None,
        # Finished jobs that trained or validated on it: deleting it warns about them first.
        "used_by": list(
            Job.objects.visible_to(request.user)
            .filter(Q(dataset=dataset) | Q(validation_dataset=dataset))
            .only("pk", "name")
            .order_by("-created_at")[:50]
        ),
    }
    return render(request, "jobs/dataset_detail.html", context)


def _with_format_labels(datasets):
    datasets = list(datasets)
    for dataset in datasets:
        dataset.format_label = format_label(dataset)
    return datasets


def format_label(dataset):
    data_format = FORMATS.get(reader.data_format_of(dataset) or "")
    return data_format.label if data_format else ""


def _histogram_chart(bins, context_length):
    """Bars for a server-drawn SVG: x, width and height in a 100-unit-high box."""
    peak = max((b["count"] for b in bins), default=0) or 1
    return [
        {
            **b,
            "x": i * 10,
            "height": round(100 * b["count"] / peak, 1),
            "y": round(100 - 100 * b["count"] / peak, 1),
            "truncated": bool(context_length) and b["end"] >= context_length,
        }
        for i, b in enumerate(bins)
    ]


@login_required
@require_GET
def dataset_download(request, pk):
    return dataset_file_response(_get_dataset_for_user(request, pk))


@login_required
@require_POST
def dataset_delete(request, pk):
    dataset = _get_dataset_for_user(request, pk, change=True)
    try:
        services.dataset_delete(dataset=dataset)
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
        return redirect("dataset-detail", pk=pk)
    messages.success(request, f"Deleted the dataset “{dataset.name}” and its file.")
    return redirect("dataset-list")
