"""What a job's page and API say of its evaluations: the list, and the automatic evaluation in
one line ("exact match 0% → 62% (base → tuned), regex match 3% → 100%, 64 held-out examples").

The evaluations themselves (creating, running, scoring) are jobs.evaluations, a layer above
this one; here only their rows are read.
"""

from typing import Any

from jobs.models import Evaluation, Job

# The figures the line shows, in this order, when the evaluation has them.
HEADLINE_METRICS = {
    "exact_match": "exact match",
    "regex": "regex match",
    "contains": "contains the reference",
    "rouge_l": "ROUGE-L",
    "perplexity": "perplexity",
}
HEADLINE_MAX = 3


def job_evaluations(job: Job) -> list[Evaluation]:
    """Its automatic evaluations and every evaluation of its model, newest first."""
    made_for = Evaluation.objects.filter(source_job=job)
    of_model = Evaluation.objects.filter(model_job=job)
    return list((made_for | of_model).select_related("dataset").order_by("-created_at", "-id"))


def auto_pair(evaluations: list[Evaluation]) -> tuple[Evaluation | None, Evaluation | None]:
    """(tuned, base): the newest automatic evaluation of the job's model and of its base."""
    tuned = next((e for e in evaluations if e.role == Evaluation.Role.TUNED), None)
    base = next((e for e in evaluations if e.role == Evaluation.Role.BASE), None)
    return tuned, base


def headline(job: Job, evaluations: list[Evaluation] | None = None) -> str | None:
    """The automatic evaluation in one line, or None when the job has none."""
    tuned, base = auto_pair(job_evaluations(job) if evaluations is None else evaluations)
    if tuned is None:
        return None
    where = "held-out" if tuned.split == "held_out" else "validation"
    if tuned.status in (Evaluation.Status.QUEUED, Evaluation.Status.RUNNING):
        return (
            f"Evaluating on {tuned.examples_total} {where} examples: {tuned.status} "
            f"({tuned.progress_percent}%)"
        )
    if tuned.status != Evaluation.Status.SUCCEEDED:
        return f"The automatic evaluation {tuned.status}" + (
            f": {tuned.error}" if tuned.error else ""
        )
    parts = []
    base_ok = base is not None and base.status == Evaluation.Status.SUCCEEDED
    for name, label in HEADLINE_METRICS.items():
        figure = tuned.summary.get(name) or {}
        if figure.get("value") is None:
            continue
        after = _format(name, figure["value"])
        before = (base.summary.get(name) or {}).get("value") if base_ok and base else None
        parts.append(
            f"{label} {_format(name, before)} → {after}"
            if before is not None
            else f"{label} {after}"
        )
        if len(parts) == HEADLINE_MAX:
            break
    if base_ok and parts:
        parts[0] += " (base → tuned)"
    n = next((f.get("n") for f in tuned.summary.values() if f.get("n")), tuned.examples_total)
    parts.append(f"{n} {where} examples")
    return ", ".join(parts)


def _format(metric: str, value: float) -> str:
    if metric == "perplexity":
        return f"{value:.3g}"
    if metric == "rouge_l":
        return f"{value:.2f}"
    return f"{round(100 * value)}%"


def brief(evaluation: Evaluation) -> dict[str, Any]:
    """An evaluation as a job's detail lists it."""
    return {
        "id": evaluation.pk,
        "role": evaluation.role,
        "model": evaluation.model,
        "dataset": evaluation.dataset_id,
        "status": evaluation.status,
        "metrics": {
            name: figure
            for name, figure in (evaluation.summary or {}).items()
            if name in evaluation.metrics
        },
    }
