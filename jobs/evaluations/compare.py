"""Reading evaluations side by side: the per-example table's orderings and filters, two
models' outputs example by example (win, tie, loss), and the leaderboard of a dataset with a
paired bootstrap test between neighbours.

Two evaluations are compared on the examples they share (the same dataset index), so what
varies from example to example cancels out (jobs.evaluations.bootstrap.paired_bootstrap).
"""

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet

from jobs.evaluations.bootstrap import paired_bootstrap
from jobs.evaluations.metrics import METRICS
from jobs.models import Evaluation, EvaluationExample

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

# The metric that orders "worst" and "best" when none is named: the first the evaluation has.
PRIMARY_ORDER = ("exact_match", "regex", "contains", "rouge_l", "chrf", "bleu", "perplexity")
FILTERS = ("all", "wrong", "right", "changed", "improved", "regressed")


def primary_metric(evaluation: Evaluation) -> str:
    return next((m for m in PRIMARY_ORDER if m in evaluation.metrics), evaluation.metrics[0])


def example_score(row: EvaluationExample, metric: str) -> float | None:
    """The example's score on `metric`, higher is better: perplexity reads its mean
    log-likelihood (a lower perplexity is a higher log-likelihood)."""
    key = "mean_loglik" if metric == "perplexity" else metric
    value = row.scores.get(key)
    return None if value is None else float(value)


def is_right(score: float | None, metric: str) -> bool:
    """An example counts as right when it scores full marks on a 0-1 metric (an exact match,
    a found pattern), or at least half marks on a graded one (ROUGE-L 0.5, BLEU/chrF 50)."""
    if score is None:
        return False
    spec = METRICS[metric]
    if metric == "perplexity":
        return False
    top = 100.0 if spec.scale == "0-100" else 1.0
    return score >= (top if metric in ("exact_match", "contains", "regex") else top / 2)


def baseline_of(evaluation: Evaluation) -> Evaluation | None:
    """What "changed" compares with: the base model's automatic evaluation of the same job."""
    if evaluation.source_job_id is None or evaluation.role != Evaluation.Role.TUNED:
        return None
    return (
        Evaluation.objects.filter(
            source_job_id=evaluation.source_job_id,
            role=Evaluation.Role.BASE,
            status=Evaluation.Status.SUCCEEDED,
        )
        .order_by("-created_at")
        .first()
    )


def ordered_examples(
    evaluation: Evaluation,
    *,
    ordering: str = "index",
    filter_: str = "all",
    against: Evaluation | None = None,
) -> list[dict[str, Any]]:
    """The evaluation's examples as the table shows them: each with `score` (on the primary
    metric or the one ordered by), `right`, and against the baseline its `baseline_output`,
    `baseline_score` and `change` ("improved", "regressed", "same"). ValueError for an
    ordering or filter it does not know."""
    descending = ordering.startswith("-")
    key = ordering.lstrip("-") or "index"
    metric = primary_metric(evaluation)
    if key not in ("index", "score"):
        if key not in evaluation.metrics:
            names = ", ".join(["index", "score", *evaluation.metrics])
            raise ValueError(f"Unknown ordering {ordering!r}; order by one of: {names}.")
        metric = key
    if filter_ not in FILTERS:
        raise ValueError(f"Unknown filter {filter_!r}; use one of: {', '.join(FILTERS)}.")
    base = against or baseline_of(evaluation)
    base_rows = {r.index: r for r in base.examples.all()} if base is not None else {}
    rows = []
    for row in evaluation.examples.all():
        item = _item(row, metric)
        other = base_rows.get(row.index)
        if other is not None:
            item["baseline_output"] = other.output
            item["baseline_score"] = example_score(other, metric)
            item["change"] = _change(item["score"], item["baseline_score"])
        rows.append(item)
    rows = [r for r in rows if _keep(r, filter_)]
    if key != "index":
        missing = float("-inf")
        rows.sort(key=lambda r: (r["score"] if r["score"] is not None else missing, r["index"]))
    if descending:
        rows.reverse()
    return rows


def _item(row: EvaluationExample, metric: str) -> dict[str, Any]:
    score = example_score(row, metric)
    return {
        "index": row.index,
        "prompt": row.prompt,
        "reference": row.reference,
        "output": row.output,
        "scores": row.scores,
        "metric": metric,
        "score": score,
        "right": is_right(score, metric),
        "prompt_tokens": row.prompt_tokens,
        "output_tokens": row.output_tokens,
        "reference_tokens": row.reference_tokens,
        "finish_reason": row.finish_reason,
        "seconds": row.seconds,
        "baseline_output": None,
        "baseline_score": None,
        "change": None,
    }


def _change(score: float | None, baseline: float | None) -> str | None:
    if score is None or baseline is None:
        return None
    if score > baseline:
        return "improved"
    return "regressed" if score < baseline else "same"


def _keep(row: dict[str, Any], filter_: str) -> bool:
    if filter_ == "wrong":
        return not row["right"]
    if filter_ == "right":
        return row["right"]
    if filter_ == "changed":
        return row["change"] in ("improved", "regressed")
    if filter_ in ("improved", "regressed"):
        return row["change"] == filter_
    return True


def paired(a: Evaluation, b: Evaluation, metric: str) -> dict[str, Any] | None:
    """A against B on the examples both scored on `metric`: the paired bootstrap difference
    (points on the metric's scale; perplexity compares mean log-likelihoods), wins, ties and
    losses. None when they share no example."""
    a_scores = _scores(a, metric)
    b_scores = _scores(b, metric)
    shared = sorted(set(a_scores) & set(b_scores))
    if not shared:
        return None
    result: dict[str, Any] = dict(
        paired_bootstrap([a_scores[i] for i in shared], [b_scores[i] for i in shared])
    )
    # A 0-1 metric's difference reads in points (0.12 -> 12 points), as the pages say it.
    factor = 100.0 if METRICS[metric].scale == "0-1" else 1.0
    for name in ("difference", "ci_low", "ci_high"):
        if result[name] is not None:
            result[name] = round(result[name] * factor, 4)
    return {**result, "metric": metric, "unit": _unit(metric)}


def _unit(metric: str) -> str:
    if metric == "perplexity":
        return "mean log-likelihood per token"
    return "points" if METRICS[metric].scale in ("0-1", "0-100") else ""


def _scores(evaluation: Evaluation, metric: str) -> dict[int, float]:
    key = "mean_loglik" if metric == "perplexity" else metric
    rows = evaluation.examples.values_list("index", "scores")
    return {index: float(scores[key]) for index, scores in rows if scores.get(key) is not None}


def sentence(a_label: str, b_label: str, comparison: dict[str, Any] | None) -> str:
    """ "job-12 beats job-9 on exact match by 12 points, 95% CI 5 to 19" (or "ties with")."""
    if comparison is None or comparison["difference"] is None:
        return f"{a_label} and {b_label} share no examples to compare."
    metric = comparison["metric"].replace("_", " ")
    diff, low, high = comparison["difference"], comparison["ci_low"], comparison["ci_high"]
    unit = comparison["unit"]
    if low is not None and high is not None and low <= 0 <= high:
        verb = "is not distinguishable from"
        return (
            f"{a_label} {verb} {b_label} on {metric} ({diff:+.3g} {unit}, 95% CI {low:.3g} to "
            f"{high:.3g}, n={comparison['n']})"
        )
    verb = "beats" if diff > 0 else "trails"
    return (
        f"{a_label} {verb} {b_label} on {metric} by {abs(diff):.3g} {unit}, "
        f"95% CI {low:.3g} to {high:.3g} (n={comparison['n']})"
    )


def leaderboard(
    user: "User | AnonymousUser", *, dataset_id: int, metric: str
) -> list[dict[str, Any]]:
    """Every model evaluated on the dataset with `metric` (the newest succeeded evaluation of
    each model the user may see), best first, each with the paired test against the next."""
    if metric not in METRICS:
        raise ValueError(f"Unknown metric {metric!r}; known: {', '.join(METRICS)}.")
    found: QuerySet[Evaluation] = (
        Evaluation.objects.visible_to(user)
        .filter(dataset_id=dataset_id, status=Evaluation.Status.SUCCEEDED)
        .order_by("-finished_at", "-id")
    )
    newest: dict[str, Evaluation] = {}
    for evaluation in found:
        if (
            metric in evaluation.metrics
            and evaluation.summary.get(metric, {}).get("value") is not None
        ):
            newest.setdefault(evaluation.model, evaluation)
    better_high = METRICS[metric].higher_is_better
    ranked = sorted(
        newest.values(),
        key=lambda e: e.summary[metric]["value"] * (-1 if better_high else 1),
    )
    rows = []
    for rank, evaluation in enumerate(ranked, start=1):
        following = ranked[rank] if rank < len(ranked) else None
        comparison = paired(evaluation, following, metric) if following else None
        rows.append(
            {
                "rank": rank,
                "model": evaluation.model,
                "model_label": evaluation.model_label,
                "evaluation": evaluation.pk,
                **{
                    k: evaluation.summary[metric].get(k)
                    for k in ("value", "ci_low", "ci_high", "n")
                },
                "versus_next": comparison,
                "versus_next_text": sentence(evaluation.model, following.model, comparison)
                if following
                else None,
            }
        )
    return rows


def side_by_side(a: Evaluation, b: Evaluation, metric: str) -> dict[str, Any]:
    """Two evaluations' outputs on their shared examples, each marked win, tie or loss for A,
    with the paired test."""
    b_rows = {row.index: row for row in b.examples.all()}
    pairs = []
    for row in a.examples.all():
        other = b_rows.get(row.index)
        if other is None:
            continue
        sa, sb = example_score(row, metric), example_score(other, metric)
        outcome = (
            None
            if sa is None or sb is None
            else ("win" if sa > sb else "loss" if sa < sb else "tie")
        )
        pairs.append(
            {
                "index": row.index,
                "prompt": row.prompt,
                "reference": row.reference,
                "a_output": row.output,
                "b_output": other.output,
                "a_score": sa,
                "b_score": sb,
                "outcome": outcome,
            }
        )
    comparison = paired(a, b, metric)
    return {
        "metric": metric,
        "comparison": comparison,
        "text": sentence(a.model, b.model, comparison),
        "examples": pairs,
    }
