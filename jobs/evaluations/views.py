"""Portal pages for evaluations: the list, the form that starts one, an evaluation's page (its
figures with their 95% intervals, its examples sorted and filtered by score, its progress and
log while it runs), a dataset's leaderboard, and two models' outputs side by side.

Every view starts from the evaluations the user may see (access.get_visible_or_404 on
Evaluation.objects.visible_to), so anyone else's evaluation is a 404; cancel and delete go
through the services, which refuse a team viewer (403).
"""

from collections import Counter
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.throttles import portal_throttle
from jobs.evaluations import compare
from jobs.evaluations.forms import EvaluationForm
from jobs.evaluations.metrics import METRICS
from jobs.evaluations.services import evaluation_cancel, evaluation_create, evaluation_delete
from jobs.models import Dataset, Evaluation, EvaluationEvent
from jobs.sharing import access
from tunerproject.ids import parse_int

LIST_PAGE_SIZE = 25
EXAMPLES_PAGE_SIZE = 50
LOG_LINES = 200
METRIC_LABELS = {
    "exact_match": "Exact match",
    "contains": "Contains the reference",
    "regex": "Regex match",
    "rouge_l": "ROUGE-L",
    "bleu": "BLEU",
    "chrf": "chrF",
    "perplexity": "Perplexity",
}
ORDERS = {"index": "Dataset order", "worst": "Worst first", "best": "Best first"}
SHOWS = {
    "all": "All examples",
    "wrong": "Wrong only",
    "right": "Right only",
    "changed": "Changed against the base",
    "improved": "Improved on the base",
    "regressed": "Worse than the base",
}
OUTCOMES = {"all": "All examples", "win": "A wins", "tie": "Ties", "loss": "B wins"}


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)  # signed in: every view here is login_required


def _get_evaluation_for_user(request: HttpRequest, pk: int) -> Evaluation:
    queryset = Evaluation.objects.select_related("dataset", "owner", "team", "model_job")
    return access.get_visible_or_404(queryset, request.user, pk)


def metric_text(metric: str, value: float | None) -> str:
    """A summary figure as people read it: shares in %, ROUGE-L 0-1, BLEU/chrF 0-100."""
    if value is None:
        return "—"
    if metric == "perplexity":
        return f"{value:.4g}" if value < 1000 else f"{value:,.0f}"
    if METRICS[metric].scale == "0-100":
        return f"{value:.1f}"
    if metric == "rouge_l":
        return f"{value:.3f}"
    return f"{100 * value:.1f}%"


def score_text(metric: str, score: float | None) -> str:
    """One example's score: its mean log-likelihood for perplexity (higher is better)."""
    if score is None:
        return "—"
    return f"{score:.1f}" if METRICS[metric].scale == "0-100" else f"{score:.2f}"


def _figures(evaluation: Evaluation, baseline: Evaluation | None) -> list[dict[str, Any]]:
    """The summary table: each metric's value, 95% interval, n, and the base model's value."""
    rows = []
    for name in evaluation.metrics:
        figure = (evaluation.summary or {}).get(name) or {}
        low, high = figure.get("ci_low"), figure.get("ci_high")
        base = (baseline.summary or {}).get(name, {}).get("value") if baseline else None
        rows.append(
            {
                "name": name,
                "label": METRIC_LABELS.get(name, name),
                "description": METRICS[name].description,
                "value": metric_text(name, figure.get("value")),
                "interval": "—"
                if low is None or high is None
                else f"{metric_text(name, low)} to {metric_text(name, high)}",
                "n": figure.get("n"),
                "base": metric_text(name, base) if baseline else None,
            }
        )
    return rows


def _choice(request: HttpRequest, name: str, allowed: dict[str, str], default: str) -> str:
    """The query parameter `name` when it is one of `allowed`, else `default`."""
    value = request.GET.get(name, default)
    return value if value in allowed else default


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@login_required
@require_GET
def evaluation_list(request: HttpRequest) -> HttpResponse:
    """The evaluations the user may see, newest first; ?dataset= and ?status= narrow it."""
    evaluations = Evaluation.objects.visible_to(request.user).select_related("dataset", "owner")
    status = request.GET.get("status", "")
    if status in Evaluation.Status.values:
        evaluations = evaluations.filter(status=status)
    dataset_id = parse_int(request.GET.get("dataset"))
    if dataset_id is not None:
        evaluations = evaluations.filter(dataset_id=dataset_id)
    page = Paginator(evaluations, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "rows": [(e, _headline_figure(e)) for e in page.object_list],
        "status": status,
        "statuses": [(v, label) for v, label in Evaluation.Status.choices if v != "paused"],
        "query": _query_without_page(request),
    }
    return render(request, "jobs/evaluations/evaluation_list.html", context)


def _headline_figure(evaluation: Evaluation) -> str:
    """The list's one figure: the primary metric of a succeeded evaluation."""
    if evaluation.status != Evaluation.Status.SUCCEEDED or not evaluation.metrics:
        return ""
    metric = compare.primary_metric(evaluation)
    value = (evaluation.summary or {}).get(metric, {}).get("value")
    return f"{METRIC_LABELS.get(metric, metric)} {metric_text(metric, value)}"


@login_required
@require_http_methods(["GET", "POST"])
def evaluation_new(request: HttpRequest) -> HttpResponse:
    """The form that starts an evaluation (?model=job-12&dataset=3 fill it in)."""
    initial = {
        "model": request.GET.get("model", "").strip()[:200],
        "dataset": parse_int(request.GET.get("dataset")),
    }
    form = EvaluationForm(request.POST or None, user=_user(request), initial=initial)
    if request.method == "POST":
        throttled = portal_throttle(request, "launch")  # as the API's evaluations are
        if throttled is not None:
            return throttled
    if request.method == "POST" and form.is_valid():
        try:
            evaluation = evaluation_create(owner=_user(request), **form.create_arguments())
        except ValidationError as exc:
            form.add_service_errors(exc)
        except Http404 as exc:  # a model the user may not see is unknown, as in the API
            form.add_error("model", str(exc))
        else:
            queued = f"Evaluation #{evaluation.pk} queued in the {evaluation.pool} pool."
            messages.success(request, queued)
            return redirect("evaluation-detail", pk=evaluation.pk)
    return render(request, "jobs/evaluations/evaluation_new.html", {"form": form})


@login_required
@require_GET
def evaluation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    evaluation = _get_evaluation_for_user(request, pk)
    baseline = compare.baseline_of(evaluation)
    context = {
        "evaluation": evaluation,
        "can_change": access.may_change(request.user, evaluation),
        "baseline": baseline,
        "figures": _figures(evaluation, baseline),
        "events": _log_tail(evaluation),
        "primary_metric": compare.primary_metric(evaluation) if evaluation.metrics else "",
    }
    if evaluation.status == Evaluation.Status.SUCCEEDED:
        context.update(_example_table(request, evaluation, baseline))
    return render(request, "jobs/evaluations/evaluation_detail.html", context)


def _log_tail(evaluation: Evaluation) -> list[EvaluationEvent]:
    return list(evaluation.events.order_by("-id")[:LOG_LINES])[::-1]


def _example_table(
    request: HttpRequest, evaluation: Evaluation, baseline: Evaluation | None
) -> dict[str, Any]:
    """The examples as ?order= (index, worst, best), ?metric= and ?show= ask, a page of them.
    Ordering by index still reads the chosen metric, for the score column and right/wrong."""
    metric = request.GET.get("metric") or compare.primary_metric(evaluation)
    metric = metric if metric in evaluation.metrics else compare.primary_metric(evaluation)
    order = _choice(request, "order", ORDERS, "index")
    show = _choice(request, "show", SHOWS, "all")
    if baseline is None and show in ("changed", "improved", "regressed"):
        show = "all"
    ordering = {"index": metric, "worst": metric, "best": f"-{metric}"}[order]
    rows = compare.ordered_examples(evaluation, ordering=ordering, filter_=show)
    if order == "index":
        rows.sort(key=lambda row: row["index"])
    page = Paginator(rows, EXAMPLES_PAGE_SIZE).get_page(request.GET.get("page"))
    for row in page.object_list:
        row["score_text"] = score_text(metric, row["score"])
        row["baseline_score_text"] = score_text(metric, row["baseline_score"])
    shows = SHOWS if baseline else {k: v for k, v in list(SHOWS.items())[:3]}
    return {
        "examples": page,
        "order": order,
        "metric": metric,
        "show": show,
        "orders": ORDERS,
        "shows": shows,
        "metric_choices": [(m, METRIC_LABELS.get(m, m)) for m in evaluation.metrics],
        "query": _query_without_page(request),
    }


@login_required
@require_GET
def evaluation_live(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress card alone, for static/js/evaluation_live.js to swap in while it runs."""
    evaluation = _get_evaluation_for_user(request, pk)
    context = {"evaluation": evaluation, "events": _log_tail(evaluation)}
    return render(request, "jobs/evaluations/_progress.html", context)


@login_required
@require_POST
def evaluation_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    evaluation = _get_evaluation_for_user(request, pk)
    try:
        evaluation = evaluation_cancel(evaluation=evaluation, user=_user(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if evaluation.status == Evaluation.Status.CANCELLED:
            messages.success(request, "Cancelled.")
        else:
            messages.success(request, "Cancelling: it stops after the current batch.")
    return redirect("evaluation-detail", pk=evaluation.pk)


@login_required
@require_POST
def evaluation_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    evaluation = _get_evaluation_for_user(request, pk)
    evaluation_delete(evaluation=evaluation, user=_user(request))
    messages.success(request, f"Deleted evaluation #{pk}.")
    return redirect("evaluation-list")


@login_required
@require_GET
def evaluation_leaderboard(request: HttpRequest) -> HttpResponse:
    """Every model evaluated on a dataset, ranked by a metric, with the paired test between
    neighbours. ?dataset= defaults to the newest dataset the user has results on."""
    evaluated = Evaluation.objects.visible_to(request.user).filter(
        status=Evaluation.Status.SUCCEEDED
    )
    datasets = Dataset.objects.visible_to(request.user).filter(
        pk__in=evaluated.values("dataset_id")
    )
    dataset_id = parse_int(request.GET.get("dataset"))
    if dataset_id is None:
        dataset = datasets.order_by("-created_at").first()
    else:
        dataset = access.get_visible_or_404(Dataset.objects.all(), request.user, dataset_id)
    context: dict[str, Any] = {"datasets": datasets.order_by("name"), "dataset": dataset}
    if dataset is not None:
        context.update(_ranking(request, evaluated.filter(dataset=dataset), dataset))
    return render(request, "jobs/evaluations/evaluation_leaderboard.html", context)


def _ranking(
    request: HttpRequest, evaluated: QuerySet[Evaluation], dataset: Dataset
) -> dict[str, Any]:
    """The leaderboard's rows by ?metric=, one of the metrics computed on the dataset (the
    primary one by default), each with its figures written out."""
    names = {name for metrics in evaluated.values_list("metrics", flat=True) for name in metrics}
    metric = request.GET.get("metric", "")
    if metric not in names:
        metric = next((m for m in compare.PRIMARY_ORDER if m in names), "")
    if not metric:
        return {}
    rows = compare.leaderboard(request.user, dataset_id=dataset.pk, metric=metric)
    for row, following in zip(rows, [*rows[1:], None], strict=True):
        row["value_text"] = metric_text(metric, row["value"])
        low, high = metric_text(metric, row["ci_low"]), metric_text(metric, row["ci_high"])
        row["interval"] = f"{low} to {high}"
        row["next_evaluation"] = following["evaluation"] if following else None
    return {
        "metric": metric,
        "metric_label": METRIC_LABELS.get(metric, metric),
        "higher_is_better": METRICS[metric].higher_is_better,
        "metric_choices": [(m, METRIC_LABELS.get(m, m)) for m in METRICS if m in names],
        "rows": rows,
    }


@login_required
@require_GET
def evaluation_compare(request: HttpRequest) -> HttpResponse:
    """Two evaluations of the same dataset, example by example (?a=&b=&metric=&outcome=)."""
    succeeded = Evaluation.objects.visible_to(request.user).filter(
        status=Evaluation.Status.SUCCEEDED
    )
    context: dict[str, Any] = {"choices": succeeded.select_related("dataset")[:200]}
    if request.GET.get("a") and request.GET.get("b"):
        visible = Evaluation.objects.select_related("dataset")
        a = access.get_visible_or_404(visible, request.user, request.GET["a"])
        b = access.get_visible_or_404(visible, request.user, request.GET["b"])
        context.update(a=a, b=b)
        refusal = _refusal(a, b)
        if refusal:
            context["refusal"] = refusal
        else:
            context.update(_side_by_side(request, a, b))
    return render(request, "jobs/evaluations/evaluation_compare.html", context)


def _refusal(a: Evaluation, b: Evaluation) -> str:
    """Why two evaluations cannot be compared example by example, or ""."""
    if Evaluation.Status.SUCCEEDED not in (a.status, b.status) or a.status != b.status:
        return "Both evaluations must have succeeded to be compared."
    if a.dataset_id != b.dataset_id:
        return (
            "These evaluations ran on different datasets: compare two evaluations of the same "
            "dataset, example by example."
        )
    if not set(a.metrics) & set(b.metrics):
        return "These evaluations share no metric."
    return ""


def _side_by_side(request: HttpRequest, a: Evaluation, b: Evaluation) -> dict[str, Any]:
    common = [m for m in a.metrics if m in b.metrics]
    primary = compare.primary_metric(a)
    metric = request.GET.get("metric") or primary
    if metric not in common:
        metric = primary if primary in common else common[0]
    result = compare.side_by_side(a, b, metric)
    counts = Counter(pair["outcome"] for pair in result["examples"])
    outcome = _choice(request, "outcome", OUTCOMES, "all")
    shown = [p for p in result["examples"] if outcome == "all" or p["outcome"] == outcome]
    page = Paginator(shown, EXAMPLES_PAGE_SIZE).get_page(request.GET.get("page"))
    for pair in page.object_list:
        pair["a_score_text"] = score_text(metric, pair["a_score"])
        pair["b_score_text"] = score_text(metric, pair["b_score"])
    return {
        "metric": metric,
        "metric_label": METRIC_LABELS.get(metric, metric),
        "metric_choices": [(m, METRIC_LABELS.get(m, m)) for m in common],
        "sentence": result["text"],
        "counts": {"win": counts["win"], "tie": counts["tie"], "loss": counts["loss"]},
        "outcome": outcome,
        "outcomes": OUTCOMES,
        "pairs": page,
        "query": _query_without_page(request),
    }
