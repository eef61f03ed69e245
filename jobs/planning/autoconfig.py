"""Auto-configuration: every hyperparameter of a job, each with a one-line reason.

A value the user fixed wins (its reason says "set by you"); every other value follows from the
data (its token-length histogram, how many rows it makes), the model (size, context, whether
its weights are pretrained) and the worker (device memory, bf16 support). Combinations that
cannot work are refused with field errors before anything is queued.

Where things are: hyperparameters.py (names, ranges, the check of fixed values), lengths.py
(token lengths and the rows the engine makes of them), rules.py (one rule per value), devices.py
(the workers), estimates.py (time, memory, cost); this module runs them in order and refuses.

The step and token counts mirror what the training engine (jobs/training/) does with the same
settings: plain text is packed into blocks of max_seq_length (each text followed by an EOS),
other kinds keep one example per row cut to max_seq_length; without a validation dataset the
share of jobs.engine.constants.holdout_count is held out (of the examples, or for packed text of the
blocks); an epoch is ceil(ceil(rows / batch) / accum) optimizer steps.

Contract:
    resolve(*, dataset, base_model, method, requested, validation_dataset=None, parent_job=None,
            device_kind=None)
    -> {"hyperparameters": {all 15 names}, "reasons": {name: reason}, "fixed": [names],
        "total_steps": int, "total_tokens": int, "plan": {...inputs of the time estimate...}}
    raises ValidationError({"hyperparameters.<name>" | "hyperparameters" | field: [message]}).
    Pass parent_job when continuing a finished job (its weights are trained, not random).
    plan_job(...) resolves and estimates (estimates.estimate_job(plan=...)): what job_launch
    stores. job_estimate(...) checks the datasets and looks up the base model first, for the
    estimate endpoint, without launching anything.
"""

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError

from jobs.catalog.services import resolve_base_model
from jobs.engine.constants import LORA_HYPERPARAMETERS
from jobs.models import BaseModel, Dataset, Job
from jobs.planning import estimates, routing
from jobs.planning.devices import device_profile
from jobs.planning.evaluation import auto_evaluation_estimate
from jobs.planning.hyperparameters import HYPERPARAMETERS, validate_requested
from jobs.planning.rules import RULES, Context, bytes_text

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# --- Resolve --------------------------------------------------------------------------------


def resolve(
    *,
    dataset: Dataset,
    base_model: BaseModel,
    method: str,
    requested: Mapping[str, Any] | None,
    validation_dataset: Dataset | None = None,
    parent_job: Job | None = None,
    device_kind: str | None = None,
) -> dict[str, Any]:
    """1. Check the requested names, types and ranges (the user's fixed values).
    2. Run each rule in order; a fixed value replaces the rule's and says "set by you".
    3. Refuse combinations that cannot work (context, memory, LoRA, precision).
    4. Count the steps and tokens the engine will run, and the plan the time estimate needs."""
    fixed = validate_requested(requested)
    _check_datasets(dataset, validation_dataset)
    ctx = Context(
        dataset=dataset,
        validation_dataset=validation_dataset,
        base_model=base_model,
        method=method,
        pretrained=parent_job is not None or base_model.source != BaseModel.Source.BUILTIN,
        device=device_profile(device_kind),
        fixed=fixed,
    )
    _check_fixed(ctx)
    for name, rule in RULES.items():
        if name in fixed:
            ctx.hp[name], ctx.reasons[name] = fixed[name], "set by you"
        else:
            ctx.hp[name], ctx.reasons[name] = rule(ctx)
    _check_combination(ctx)
    plan = _plan(ctx)
    return {
        "hyperparameters": {name: ctx.hp[name] for name in HYPERPARAMETERS},
        "reasons": {name: ctx.reasons[name] for name in HYPERPARAMETERS},
        "fixed": [name for name in HYPERPARAMETERS if name in fixed],
        "total_steps": plan["total_steps"],
        "total_tokens": plan["total_tokens"],
        "plan": plan,
    }


def _check_datasets(dataset: Dataset, validation_dataset: Dataset | None) -> None:
    if validation_dataset is None:
        return
    if (validation_dataset.kind or "text") != (dataset.kind or "text"):
        raise ValidationError(
            {
                "validation_dataset": [
                    f"It holds {validation_dataset.get_kind_display().lower()} data but the "
                    f"training data is "
                    f"{dataset.get_kind_display().lower()}: they must be the same kind."
                ]
            }
        )


def _check_fixed(ctx: Context) -> None:
    """Refusals that depend only on what the user fixed, the model and the worker."""
    errors, fixed, model = {}, ctx.fixed, ctx.base_model
    if ctx.method != Job.Method.LORA:
        for name in LORA_HYPERPARAMETERS:
            if name in fixed:
                errors[f"hyperparameters.{name}"] = [
                    f"{name} applies only to LoRA; this job fine-tunes every weight."
                ]
    if fixed.get("lora_r", 0) > model.hidden_size > 0:
        errors["hyperparameters.lora_r"] = [
            f"A rank of {fixed['lora_r']} is above the model's width of {model.hidden_size}: "
            f"nothing to gain."
        ]
    if fixed.get("max_seq_length", 0) > model.context_length:
        errors["hyperparameters.max_seq_length"] = [
            f"{fixed['max_seq_length']:,} tokens is above {model.display_name}'s context of "
            f"{model.context_length:,} tokens."
        ]
    if (
        fixed.get("precision") in ("bf16", "fp16")
        and not ctx.device["supports"][fixed["precision"]]
    ):
        errors["hyperparameters.precision"] = [
            f"{fixed['precision']} is not available on {ctx.device['kind']} workers; use "
            f"{' or '.join(p for p, ok in ctx.device['supports'].items() if ok)}."
        ]
    if errors:
        raise ValidationError(errors)


def _check_combination(ctx: Context) -> None:
    """Refusals that need the resolved values: memory and rows."""
    train, _ = ctx.splits()
    if train.rows < 1:
        raise ValidationError(
            {
                "dataset": [
                    "The dataset leaves no training rows once the validation share is held out."
                ]
            }
        )
    need, have = ctx.memory(ctx.hp["batch_size"]), ctx.device["memory_bytes"]
    if need <= have:
        return
    batch, seq = ctx.hp["batch_size"], ctx.hp["max_seq_length"]
    message = (
        f"A batch of {batch} × {seq:,} tokens needs about {bytes_text(need)}; the "
        f"{ctx.device['kind']} worker has {bytes_text(have)}. Try a smaller batch_size or "
        "max_seq_length, or LoRA."
    )
    for name in ("batch_size", "max_seq_length"):
        if name in ctx.fixed:
            raise ValidationError({f"hyperparameters.{name}": [message]})
    raise ValidationError(
        {
            "base_model": [
                f"{ctx.base_model.display_name} does not fit the worker's memory even with batch 1 "
                f"({bytes_text(need)} of {bytes_text(have)}): choose LoRA or a smaller model."
            ]
        }
    )


def _plan(ctx: Context) -> dict[str, Any]:
    """Steps, tokens and the work the time estimate needs, as the engine will run them."""
    hp = ctx.hp
    train, evaluation = ctx.splits()
    per_epoch = ctx.steps_per_epoch()
    total_steps = per_epoch * hp["epochs"]
    evaluations = total_steps // hp["eval_steps"] if hp["eval_steps"] and evaluation else 0
    checkpoints = (total_steps - 1) // hp["save_steps"] if hp["save_steps"] else 0
    if evaluations and hp.get("exported_model") == "best":
        # A new best before the last step is saved too (training/best.py), and while the loss
        # still falls nearly every evaluation is one; one on a save step is saved once.
        before_last = total_steps - 1
        checkpoints += before_last // hp["eval_steps"]
        if hp["save_steps"]:
            checkpoints -= before_last // math.lcm(hp["eval_steps"], hp["save_steps"])
    return {
        "kind": ctx.kind,
        "train_rows": train.rows,
        "eval_rows": evaluation.rows if evaluation else 0,
        "steps_per_epoch": per_epoch,
        "total_steps": total_steps,
        "total_tokens": round(train.tokens * hp["epochs"]),
        "compute_tokens": round(train.compute_tokens(hp["batch_size"]) * hp["epochs"]),
        "eval_compute_tokens": round(evaluation.compute_tokens(hp["batch_size"]))
        if evaluation
        else 0,
        "micro_batches": math.ceil(train.rows / hp["batch_size"]) * hp["epochs"],
        "evaluations": evaluations,
        "checkpoints": checkpoints,
        "data_tokens": ctx.data_tokens,
    }


# --- The wizard's question: what would this job be? ----------------------------------------


def job_estimate(
    *,
    owner: "User",
    dataset: Dataset | None,
    base_model_key: str,
    method: str,
    hyperparameters: Mapping[str, Any] | None = None,
    validation_dataset: Dataset | None = None,
) -> dict[str, Any]:
    """What job_launch would store, without launching: resolved values, reasons, steps, tokens
    and the estimate, with the estimate for each live pool of workers (`pools`)."""
    _, _, planned = plan_request_on_pools(
        owner=owner,
        dataset=dataset,
        base_model_key=base_model_key,
        method=method,
        hyperparameters=hyperparameters,
        validation_dataset=validation_dataset,
    )
    return planned


def plan_request_on_pools(
    *, method: str, **request: Any
) -> tuple[BaseModel, Job | None, dict[str, Any]]:
    """plan_request's (base model, parent job, plan), the plan's estimate carrying `pools`: the
    estimate on each live pool of workers (jobs.planning.routing), which launch routes by."""
    base_model, parent_job, planned = plan_request(method=method, **request)
    pools = routing.pool_estimates(
        base_model=base_model,
        method=method,
        hyperparameters=planned["hyperparameters"],
        estimate=planned["estimate"],
    )
    return base_model, parent_job, {**planned, "estimate": {**planned["estimate"], "pools": pools}}


def plan_request(
    *,
    owner: "User",
    dataset: Dataset | None,
    base_model_key: str,
    method: str,
    hyperparameters: Mapping[str, Any] | None = None,
    validation_dataset: Dataset | None = None,
) -> tuple[BaseModel, Job | None, dict[str, Any]]:
    """The one check of a launch or estimate request: (root base model, parent job or None,
    plan_job's result). Refuses with field errors what cannot be trained."""
    dataset = check_dataset(owner, dataset, "dataset")
    if validation_dataset is not None:
        check_dataset(owner, validation_dataset, "validation_dataset")
    if method not in Job.Method.values:
        raise ValidationError({"method": [f"Choose one of: {', '.join(Job.Method.values)}."]})
    base_model, parent_job = resolve_base_model(owner=owner, key=base_model_key)
    planned = plan_job(
        dataset=dataset,
        base_model=base_model,
        parent_job=parent_job,
        method=method,
        requested=dict(hyperparameters or {}),
        validation_dataset=validation_dataset,
        viewer=owner,
    )
    auto = auto_evaluation_estimate(
        dataset=dataset, validation_dataset=validation_dataset, base_model=base_model
    )
    if auto is not None:
        # Counted in what the user waits for and pays; launch with auto_evaluation false
        # takes it out again (jobs.training.services.job_launch).
        estimate = planned["estimate"]
        estimate["auto_evaluation"] = auto
        estimate["wall_seconds"] = round(estimate["wall_seconds"] + auto["seconds"], 1)
        estimate["cost"] = round(estimate["cost"] + auto["cost"], 6)
    return base_model, parent_job, planned


def plan_job(
    *,
    dataset: Dataset,
    base_model: BaseModel,
    parent_job: Job | None,
    method: str,
    requested: Mapping[str, Any] | None,
    validation_dataset: Dataset | None = None,
    viewer: "User | None" = None,
) -> dict[str, Any]:
    """Resolved hyperparameters with reasons, steps, tokens and the estimate: what a job stores.
    The estimate is calibrated by the finished jobs `viewer` may see (all of them when None)."""
    resolved = resolve(
        dataset=dataset,
        base_model=base_model,
        method=method,
        requested=requested,
        validation_dataset=validation_dataset,
        parent_job=parent_job,
    )
    estimate = estimates.estimate_job(
        base_model=base_model,
        method=method,
        hyperparameters=resolved["hyperparameters"],
        total_steps=resolved["total_steps"],
        total_tokens=resolved["total_tokens"],
        plan=resolved["plan"],
        viewer=viewer,
    )
    return {**{k: v for k, v in resolved.items() if k != "plan"}, "estimate": estimate}


def check_dataset(owner: "User", dataset: Dataset | None, field: str) -> Dataset:
    """Refuse a dataset a job of `owner` cannot train on, under `field`: one they cannot see (or
    a deleted one) reads as unknown, a team's they only view says so, and an unusable one says
    why (Dataset.unusable_reason). Returns the dataset, checked."""
    if dataset is None:
        raise ValidationError({field: ["Unknown dataset."]})
    datasets = Dataset.objects.filter(pk=dataset.pk)
    if not datasets.visible_to(owner).exists():
        raise ValidationError({field: ["Unknown dataset."]})
    if not datasets.usable_by(owner).exists():
        raise ValidationError(
            {field: ["You are a viewer of this dataset's team: only members train on it."]}
        )
    reason = dataset.unusable_reason()
    if reason:
        raise ValidationError({field: [reason]})
    return dataset
