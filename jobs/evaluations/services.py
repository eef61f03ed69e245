"""Evaluations: create one (checked, estimated, routed, queued), cancel it, delete it, and the
automatic pair a finished job gets (its model and its base model on held-out examples).

The worker side is jobs.evaluations.worker (claiming, reaping) and jobs.evaluations.run
(generation and scoring, with torch).
"""

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from jobs.engine.constants import holdout_count
from jobs.engine.patterns import compile_regex
from jobs.evaluations.examples import has_references
from jobs.evaluations.metrics import DEFAULT_METRICS, METRICS
from jobs.evaluations.references import ModelRef, base_of, resolve
from jobs.evaluations.tickets import enqueue
from jobs.models import Dataset, Evaluation, Job
from jobs.planning.evaluation import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_MAX_NEW_TOKENS,
    estimate_evaluation,
    evaluation_offers,
)
from jobs.planning.routing import route
from jobs.sharing import access
from jobs.sharing.services import team_for

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# A generation setting's defaults and limits; greedy unless a temperature is given.
GENERATION_DEFAULTS: dict[str, Any] = {
    "max_new_tokens": DEFAULT_MAX_NEW_TOKENS,
    "temperature": 0.0,
    "top_p": 1.0,
    "seed": 0,
    "batch_size": DEFAULT_BATCH_SIZE,
}
GENERATION_LIMITS: dict[str, tuple[float, float]] = {
    "max_new_tokens": (1, 512),
    "temperature": (0.0, 2.0),
    "top_p": (0.01, 1.0),
    "seed": (0, 2**31 - 1),
    "batch_size": (1, 64),
}
PLAIN_TEXT_NOTE = (
    "{name} is plain text: its examples have no reference answer to compare an output with, "
    "so only perplexity (how likely the model finds the text) is measured."
)


@dataclass
class Plan:
    """What an evaluation will do, checked: the metrics, the pattern, the generation."""

    metrics: list[str]
    regex: str
    generation: dict[str, Any]
    notes: list[str]

    @property
    def generates(self) -> bool:
        return any(METRICS[name].needs_generation for name in self.metrics)


def evaluation_plan(
    *,
    dataset: Dataset,
    metrics: list[str] | None,
    regex: str = "",
    generation: dict[str, Any] | None = None,
) -> Plan:
    """The metrics to compute on `dataset` (the defaults when None), checked against what the
    dataset has: a plain-text dataset has no reference, so perplexity only. ValidationError
    naming the field otherwise (`metrics`, `regex`, `generation`)."""
    regex = (regex or "").strip()
    referenced = has_references(dataset)
    notes = [] if referenced else [PLAIN_TEXT_NOTE.format(name=f"Dataset {dataset.name!r}")]
    if metrics is None:
        chosen = list(DEFAULT_METRICS) if referenced else ["perplexity"]
        if regex and referenced:
            chosen.append("regex")
    else:
        chosen = list(dict.fromkeys(metrics))
        unknown = [name for name in chosen if name not in METRICS]
        if unknown:
            known = ", ".join(METRICS)
            raise ValidationError({"metrics": [f"Unknown metric {unknown[0]!r}; known: {known}."]})
        if not chosen:
            raise ValidationError({"metrics": ["Name at least one metric."]})
        if regex and "regex" not in chosen:
            chosen.append("regex")
    if not referenced and chosen != ["perplexity"]:
        raise ValidationError({"metrics": [notes[0]]})
    if "regex" in chosen and not regex:
        raise ValidationError({"regex": ["The regex metric needs a pattern: give `regex`."]})
    if regex:
        try:
            compile_regex(regex)
        except ValueError as exc:
            raise ValidationError({"regex": [str(exc)]}) from exc
    return Plan(chosen, regex, _generation(generation or {}), notes)


def _generation(asked: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(asked) - set(GENERATION_DEFAULTS))
    if unknown:
        known = ", ".join(GENERATION_DEFAULTS)
        raise ValidationError(
            {"generation": [f"Unknown generation setting {unknown[0]!r}; known: {known}."]}
        )
    resolved = dict(GENERATION_DEFAULTS)
    for name, value in asked.items():
        low, high = GENERATION_LIMITS[name]
        kind = float if isinstance(GENERATION_DEFAULTS[name], float) else int
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError({"generation": [f"{name} must be a number, not {value!r}."]})
        if kind is int and value != int(value):
            raise ValidationError({"generation": [f"{name} must be a whole number."]})
        if not low <= value <= high:
            raise ValidationError(
                {"generation": [f"{name} must be between {low:g} and {high:g}, not {value}."]}
            )
        resolved[name] = kind(value)
    return resolved


def evaluation_estimate(
    *, model: ModelRef, dataset: Dataset, plan: Plan, examples: int
) -> dict[str, Any]:
    """The estimate of the evaluation on the pool it goes to: {pool, seconds, cost, ...}.
    ValidationError on `pool` when no live pool holds it (the reason, as for jobs)."""
    mean = float(dataset.stats.get("mean_tokens") or 64)
    work = {
        "base_model": model.base_model,
        "examples": examples,
        "prompt_tokens": mean,
        "reference_tokens": mean / 2,
        "max_new_tokens": plan.generation["max_new_tokens"],
        "batch_size": plan.generation["batch_size"],
        "generates": plan.generates,
    }
    offers = evaluation_offers(**work)
    pool = route(requested_pool=None, offers=offers, thing="evaluation")
    kind = next((o["kind"] for o in offers if o["pool"] == pool), None)
    return {"pool": pool, **estimate_evaluation(device_kind=kind, **work)}


@dataclass
class Prepared:
    """An evaluation request checked, planned and estimated, not yet queued."""

    ref: ModelRef
    team_id: int | None
    plan: Plan
    examples: int
    estimate: dict[str, Any]

    def preview(self) -> dict[str, Any]:
        """What the evaluation would be (the API's ?dry_run=1 answer)."""
        return {
            "model": self.ref.key,
            "model_label": self.ref.label,
            "metric_names": self.plan.metrics,
            "regex": self.plan.regex,
            "generation": self.plan.generation,
            "examples": self.examples,
            "notes": self.plan.notes,
            "estimate": self.estimate,
        }


def evaluation_prepare(
    *,
    owner: "User",
    model: str,
    dataset: Dataset,
    metrics: list[str] | None = None,
    regex: str = "",
    max_examples: int | None = None,
    generation: dict[str, Any] | None = None,
    team_id: int | None = None,
) -> Prepared:
    """1. Resolve the model (Http404 for one the user may not see) and check the dataset and
       the team (400 outside it, 403 for a viewer).
    2. Plan the metrics and generation (evaluation_plan).
    3. Estimate time, memory and cost, and route it to a pool that holds it."""
    ref = resolve(owner, model)
    _check_dataset(dataset)
    team = team_for(user=owner, team_id=team_id)
    plan = evaluation_plan(dataset=dataset, metrics=metrics, regex=regex, generation=generation)
    limit = settings.EVAL_MAX_EXAMPLES
    if max_examples is not None and not 1 <= max_examples <= limit:
        raise ValidationError({"max_examples": [f"Give between 1 and {limit:,} examples."]})
    total = min(dataset.num_examples, max_examples or limit)
    estimate = evaluation_estimate(model=ref, dataset=dataset, plan=plan, examples=total)
    return Prepared(ref, team.pk if team is not None else None, plan, total, estimate)


@transaction.atomic
def evaluation_create(
    *,
    owner: "User",
    model: str,
    dataset: Dataset,
    metrics: list[str] | None = None,
    regex: str = "",
    ignore_case_and_space: bool = False,
    max_examples: int | None = None,
    generation: dict[str, Any] | None = None,
    team_id: int | None = None,
) -> Evaluation:
    """Check, plan and estimate it (evaluation_prepare), then queue it: its ticket goes in
    the pool's queue once the transaction commits."""
    prepared = evaluation_prepare(
        owner=owner,
        model=model,
        dataset=dataset,
        metrics=metrics,
        regex=regex,
        max_examples=max_examples,
        generation=generation,
        team_id=team_id,
    )
    return _queue(
        owner=owner,
        team_id=prepared.team_id,
        ref=prepared.ref,
        dataset=dataset,
        plan=prepared.plan,
        estimate=prepared.estimate,
        examples_total=prepared.examples,
        max_examples=max_examples or 0,
        ignore_case_and_space=ignore_case_and_space,
    )


def _check_dataset(dataset: Dataset) -> None:
    if dataset.deleted_at is not None or dataset.status != Dataset.Status.VALID:
        raise ValidationError(
            {"dataset": [f"Dataset {dataset.pk} is {dataset.status}: evaluate on a valid one."]}
        )
    if not dataset.num_examples:
        raise ValidationError({"dataset": [f"Dataset {dataset.pk} has no examples."]})


def _queue(
    *,
    owner: "User",
    team_id: int | None,
    ref: ModelRef,
    dataset: Dataset,
    plan: Plan,
    estimate: dict[str, Any],
    examples_total: int,
    **fields: Any,
) -> Evaluation:
    evaluation = Evaluation.objects.create_queued(
        owner=owner,
        team_id=team_id,
        model=ref.key,
        model_label=ref.label,
        model_job=ref.job,
        checkpoint_step=ref.step,
        base_model=ref.base_model,
        dataset=dataset,
        metrics=plan.metrics,
        regex=plan.regex,
        generation=plan.generation,
        pool=estimate["pool"],
        estimate=estimate,
        examples_total=examples_total,
        notes=plan.notes,
        **fields,
    )
    transaction.on_commit(partial(enqueue, evaluation.pk, evaluation.pool))
    return evaluation


def evaluation_cancel(*, evaluation: Evaluation, user: "User") -> Evaluation:
    """Cancel as the state allows (see Evaluation.request_cancel); 403 for a viewer."""
    access.require_change(user, evaluation)
    try:
        evaluation.request_cancel()
    except ValueError as exc:
        raise ValidationError({"status": [str(exc)]}) from exc
    evaluation.refresh_from_db()
    return evaluation


@transaction.atomic
def evaluation_delete(*, evaluation: Evaluation, user: "User") -> None:
    """Delete it with its examples; a running one stops at its next batch (its worker's
    writes find no row)."""
    access.require_change(user, evaluation)
    evaluation.delete()


# --- The automatic evaluation of a finished job ---------------------------------------------


def evaluation_auto_create(*, job: Job) -> list[Evaluation]:
    """After `job` succeeded: its model and the model it started from, each on up to
    EVAL_SAMPLE_SIZE held-out examples (its validation dataset's, or those it held out of its
    training data), same examples, same settings. None when the job asked for none, or when
    there is nothing to hold out (a plain-text job without a validation dataset: its eval
    loss already measures the held-out blocks). Returns the evaluations queued."""
    if not job.auto_evaluation:
        return []
    dataset = job.validation_dataset or job.dataset
    split = "all" if job.validation_dataset is not None else "held_out"
    available = dataset.num_examples if split == "all" else holdout_count(dataset.num_examples)
    if split == "held_out" and dataset.kind == Dataset.Kind.TEXT:
        job.log("No automatic evaluation: plain text is held out in blocks, not examples")
        return []
    if not available:
        job.log("No automatic evaluation: too few examples to hold any out", kind="log")
        return []
    plan = evaluation_plan(
        dataset=dataset, metrics=None, regex=job.evaluation_regex, generation=None
    )
    total = min(available, settings.EVAL_SAMPLE_SIZE)
    queued = []
    pair = [
        (Evaluation.Role.TUNED, resolve(job.owner, f"job-{job.pk}")),
        (Evaluation.Role.BASE, base_of(job)),
    ]
    for role, ref in pair:
        try:
            estimate = evaluation_estimate(model=ref, dataset=dataset, plan=plan, examples=total)
        except ValidationError as exc:
            job.log(f"No automatic evaluation of {ref.label}: {exc.messages[0]}", level="warning")
            continue
        queued.append(
            _queue(
                owner=job.owner,
                team_id=job.team_id,
                ref=ref,
                dataset=dataset,
                plan=plan,
                estimate=estimate,
                examples_total=total,
                max_examples=total,
                source_job=job,
                role=role,
                split=split,
            )
        )
    return queued
