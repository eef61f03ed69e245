"""Time, memory and cost of a job before it runs, calibrated by the jobs that finished.

Time follows the work the training loop does (jobs/engine/loop.py), each part priced by a
model of the worker:
- training: tokens computed (padding included) × FLOPs per token (6·N + 12·L·d·T, 4·N for LoRA
  whose frozen weights need no weight gradients) / sustained FLOP/s;
- evaluations inside the loop: forward passes, a third of a training step per token;
- per-step work that does not grow with tokens: clipping and AdamW over the trainable weights,
  and a cost per forward+backward that grows with the parameters (devices.py has the figures);
- checkpoints: trainable weights and AdamW state written to disk;
- on CUDA the first step compiles the model.
That model has one unknown, how fast this kind of worker really is. Before any history it is a
guess (the device's peak FLOP/s × an efficiency that grows with the model's width); once jobs of
this kind of worker have finished, the median of (measured / modelled seconds) over them scales
every estimate, preferring jobs of the same model and method. Job.actual["seconds"] is the loop
time the engine measures, so that is what the estimate predicts. Memory is modelled the same way
(weights, gradients, AdamW state, activations, logits, and on CPU the process and the tokenised
data) and scaled by the same model's measured peaks.

The workers' figures are in devices.py.
"""

import math
import statistics
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import QuerySet

from jobs.engine.constants import (
    BYTES_PER_TRAINABLE_WEIGHT,
    BYTES_PER_WEIGHT,
    DEFAULT_LORA_R,
    DEFAULT_MAX_SEQ_LENGTH,
    FUSED_LOSS_CHUNK_TOKENS,
    GPT2_VOCAB_SIZE,
    LORA_TARGET_MODULES,
    VALIDATION_FRACTION,
    worker_cost,
)
from jobs.engine.constants import flops_per_token as shared_flops_per_token
from jobs.models import BaseModel, Job
from jobs.planning.devices import PRECISION_SPEED, device_family, device_profile

if TYPE_CHECKING:
    from django.contrib.auth.models import User

HISTORY_LIMIT = 20  # most recent finished jobs a calibration looks at

# Memory, from peaks measured on GPT-2 shapes (tiny to 124M, sequence 64 to 512, fp32) and of
# the engine's worker processes:
LOGIT_COPIES = 3.0  # logits, log-softmax and their gradients, each batch × T × vocab floats
ACTIVATIONS_PER_LAYER = 64  # floats kept per token per layer per unit of width
HALF_PRECISION_ACTIVATIONS = 0.6  # bf16/fp16 autocast keeps many of them in 2 bytes
CPU_PROCESS_BYTES = 0.7e9  # Python, torch, transformers, datasets and Django in the worker
# The tokenised dataset: ids (2 bytes), loss flags (1) and offsets, memory-mapped from the
# worker's scratch (jobs/engine/data.py), counted as if all were resident; tokenising itself
# holds one chunk at a time (bench/tokenise.py: about 100 MiB above the start, whatever the size).
CPU_BYTES_PER_DATA_TOKEN = 4
CPU_TOKENISE_BYTES = 0.1e9
# On a CPU (fp32 or bf16) the head and loss run a chunk of tokens at a time (fused_loss.py): the
# fp32 logits of FUSED_LOSS_CHUNK_TOKENS and their softmax (then gradient), plus in bf16 the
# matmuls' half-size results; not LOGIT_COPIES × batch.
FUSED_LOGIT_COPIES = {"fp32": 2.0, "bf16": 2.5}
CHECKPOINT_BYTES_PER_TRAINABLE = 12  # a checkpoint holds each trained weight and its two moments

# (inputs, outputs) of each LoRA target in units of the model's width d: c_attn is d→3d, c_proj
# is both the attention's d→d and the MLP's 4d→d, c_fc is d→4d. A rank-r adapter on an i→o
# layer adds r·(i + o) weights.
LORA_TARGET_SHAPES = {"c_attn": [(1, 3)], "c_proj": [(1, 1), (4, 1)], "c_fc": [(1, 4)]}
assert set(LORA_TARGET_SHAPES) == set(LORA_TARGET_MODULES)
LORA_WIDTHS_PER_RANK = sum(i + o for shapes in LORA_TARGET_SHAPES.values() for i, o in shapes)


# --- The model of the work ------------------------------------------------------------------


def trainable_parameters(
    base_model: BaseModel, method: str, lora_r: int | None = DEFAULT_LORA_R
) -> int:
    """Every weight, or for LoRA the adapters the engine adds to LORA_TARGET_MODULES."""
    if method != Job.Method.LORA:
        return base_model.parameters
    rank = lora_r or DEFAULT_LORA_R
    return base_model.layers * rank * LORA_WIDTHS_PER_RANK * base_model.hidden_size


def flops_per_token(base_model: BaseModel, seq: int, method: str) -> int:
    """Training FLOPs per token (nanoGPT's estimate, stated once in jobs.engine.constants)."""
    return shared_flops_per_token(
        parameters=base_model.parameters,
        position_parameters=base_model.context_length * base_model.hidden_size,
        n_layer=base_model.layers,
        n_embd=base_model.hidden_size,
        seq=seq,
        lora=method == Job.Method.LORA,
    )


def sustained_flops(profile: dict[str, Any], base_model: BaseModel, precision: str | None) -> float:
    width = max(base_model.hidden_size, 1)
    speed = PRECISION_SPEED[profile["family"]].get(precision or "fp32", 1.0)
    return profile["peak_flops"] * width / (width + profile["width_half"]) * speed


def peak_memory_bytes(
    *,
    base_model: BaseModel,
    method: str,
    batch_size: int,
    max_seq_length: int,
    precision: str | None,
    lora_r: int | None = DEFAULT_LORA_R,
    device_kind: str | None = None,
    data_tokens: int = 0,
) -> int:
    """Peak memory of a training step; on CPU, of the whole worker process (what the engine
    measures there)."""
    family = device_family(device_kind or settings.WORKER_KIND)
    trainable = trainable_parameters(base_model, method, lora_r)
    states = BYTES_PER_WEIGHT * base_model.parameters + BYTES_PER_TRAINABLE_WEIGHT * trainable
    tokens = batch_size * max_seq_length
    half = HALF_PRECISION_ACTIVATIONS if precision in ("bf16", "fp16") else 1.0
    fused_copies = FUSED_LOGIT_COPIES.get(precision or "fp32")
    if family == "cpu" and fused_copies:
        logits = fused_copies * FUSED_LOSS_CHUNK_TOKENS * _vocab(base_model) * 4
    else:
        logits = LOGIT_COPIES * tokens * _vocab(base_model) * 4 * half
    layers = ACTIVATIONS_PER_LAYER * tokens * base_model.hidden_size * 4 * base_model.layers * half
    total = states + logits + layers
    if family == "cpu":
        total += CPU_PROCESS_BYTES + CPU_TOKENISE_BYTES + CPU_BYTES_PER_DATA_TOKEN * data_tokens
    return int(total)


def job_memory_bytes(
    *,
    base_model: BaseModel,
    method: str,
    hyperparameters: dict[str, Any],
    device_kind: str | None,
    data_tokens: int,
) -> int:
    """peak_memory_bytes of a job with these (resolved) hyperparameters."""
    hp = hyperparameters
    return peak_memory_bytes(
        base_model=base_model,
        method=method,
        batch_size=hp["batch_size"],
        max_seq_length=hp["max_seq_length"],
        precision=hp.get("precision"),
        lora_r=hp.get("lora_r"),
        device_kind=device_kind,
        data_tokens=data_tokens,
    )


def _vocab(base_model: BaseModel) -> int:
    return int((base_model.config or {}).get("vocab_size") or GPT2_VOCAB_SIZE)


def default_plan(
    *, hyperparameters: dict[str, Any], total_steps: int, total_tokens: float
) -> dict[str, Any]:
    """The work of a run when only its totals are known (no padding, the automatic holdout)."""
    epochs = max(int(hyperparameters.get("epochs") or 1), 1)
    eval_steps, save_steps = hyperparameters.get("eval_steps"), hyperparameters.get("save_steps")
    return {
        "total_steps": total_steps,
        "total_tokens": total_tokens,
        "compute_tokens": total_tokens,
        # The held-out share beside the training share of one epoch's tokens.
        "eval_compute_tokens": total_tokens
        / epochs
        * VALIDATION_FRACTION
        / (1 - VALIDATION_FRACTION),
        "evaluations": total_steps // eval_steps if eval_steps else 0,
        "checkpoints": (total_steps - 1) // save_steps if save_steps else 0,
    }


def time_breakdown(
    *,
    base_model: BaseModel,
    method: str,
    hyperparameters: dict[str, Any],
    plan: dict[str, Any],
    profile: dict[str, Any],
) -> dict[str, float]:
    """Modelled seconds of each part of the training loop, before calibration."""
    hp = hyperparameters
    flops = sustained_flops(profile, base_model, hp.get("precision"))
    per_token = flops_per_token(
        base_model, hp.get("max_seq_length") or DEFAULT_MAX_SEQ_LENGTH, method
    )
    trainable = trainable_parameters(base_model, method, hp.get("lora_r"))
    # Clipping reads the gradients; AdamW reads and writes weights, gradients and two moments.
    per_step = (
        profile["step_seconds"] + profile["optimizer_bytes"] * trainable / profile["bandwidth"]
    )
    # Each forward+backward also pays for work that does not shrink with its tokens (on CPU
    # mostly allocating and clearing the vocabulary-sized embedding gradient).
    per_batch = (
        profile["batch_seconds"] + profile["batch_seconds_per_parameter"] * base_model.parameters
    )
    batches = plan.get("micro_batches") or plan["total_steps"] * (
        hp.get("gradient_accumulation_steps") or 1
    )
    eval_batches = plan["evaluations"] * math.ceil(
        plan["eval_compute_tokens"]
        / ((hp.get("batch_size") or 1) * (hp.get("max_seq_length") or DEFAULT_MAX_SEQ_LENGTH))
    )
    return {
        "training": plan["compute_tokens"] * per_token / flops,
        "evaluation": plan["evaluations"] * plan["eval_compute_tokens"] * per_token / 3 / flops
        + eval_batches * per_batch / 3,
        "batches": batches * per_batch,
        "optimizer_steps": plan["total_steps"] * per_step,
        "checkpoints": plan["checkpoints"]
        * CHECKPOINT_BYTES_PER_TRAINABLE
        * trainable
        / profile["disk"],
        "startup": profile["startup_seconds"],
    }


# --- Calibration ----------------------------------------------------------------------------


def finished_jobs(kind: str, viewer: "User | None" = None) -> QuerySet[Job]:
    """Succeeded jobs on this kind of worker that recorded how long they took, newest first;
    only those `viewer` may see when given (an estimate never counts what its user cannot see)."""
    jobs = Job.objects.visible_to(viewer) if viewer is not None else Job.objects.all()
    return (
        jobs.filter(
            status=Job.Status.SUCCEEDED, actual__device_kind=kind, actual__has_key="seconds"
        )
        .select_related("base_model", "dataset")
        .order_by("-finished_at", "-pk")
    )


def calibration(
    *,
    base_model: BaseModel,
    method: str,
    profile: dict[str, Any],
    max_seq_length: int | None = None,
    viewer: "User | None" = None,
) -> dict[str, Any]:
    """What finished jobs measured: {"time", "memory"} (measured / modelled factors, None
    without history), "setup" (seconds a job spends outside its training loop) and "basis".

    Only jobs whose sequence length is within a factor of two of this one's count: the factor
    of a job dominated by per-step overhead (short rows) says little about one dominated by
    per-token work (long rows), and the other way round."""
    jobs = [
        job
        for job in finished_jobs(profile["kind"], viewer)[: HISTORY_LIMIT * 5]
        if job.base_model_id and _similar_length(job, max_seq_length)
    ]
    same = [j for j in jobs if j.base_model_id == base_model.pk and j.method == method]
    same, others = same[:HISTORY_LIMIT], jobs[:HISTORY_LIMIT]
    result = {
        "time": None,
        "basis": "FLOPs estimate",
        "memory": _median([_memory_ratio(job, profile) for job in same]),
        "setup": _median([_setup_seconds(job) for job in same]) or profile["setup_seconds"],
    }
    if same:
        result["time"] = _median([time_ratio(job, profile) for job in same])
        result["basis"] = f"calibrated from {_jobs(len(same))} of this model and method"
    elif others:
        result["time"] = _median([time_ratio(job, profile) for job in others])
        result["basis"] = (
            f"calibrated from {_jobs(len(others))} of other models on {profile['kind']} "
            f"workers, scaled by FLOPs per token"
        )
    return result


def _similar_length(job: Job, max_seq_length: int | None) -> bool:
    theirs = (job.hyperparameters or {}).get("max_seq_length")
    if not max_seq_length or not theirs:
        return True
    return 0.5 <= theirs / max_seq_length <= 2


def memory_factor(*, base_model: BaseModel, method: str, profile: dict[str, Any]) -> float:
    return calibration(base_model=base_model, method=method, profile=profile)["memory"] or 1.0


def _setup_seconds(job: Job) -> float | None:
    """Loading, tokenising, exporting and sampling: the job's wall time outside the loop."""
    if not (job.started_at and job.finished_at) or job.restart_count:
        return None
    return max(0.0, (job.finished_at - job.started_at).total_seconds() - job.actual["seconds"])


def _jobs(n: int) -> str:
    return f"{n} finished job{'s' if n != 1 else ''}"


def time_ratio(job: Job, profile: dict[str, Any]) -> float | None:
    """A finished job's measured loop seconds / the seconds modelled for the work it did."""
    actual = job.actual
    seconds = actual.get("seconds")
    if not seconds or job.base_model is None:  # no base model: nothing to model it with
        return None
    modelled = sum(
        time_breakdown(
            base_model=job.base_model,
            method=job.method,
            hyperparameters=job.hyperparameters,
            plan=_plan_of(job),
            profile=profile,
        ).values()
    )
    return seconds / modelled if modelled > 0 else None


def _plan_of(job: Job) -> dict[str, Any]:
    """The work a finished job did: its stored plan scaled to the tokens and steps it really ran."""
    actual, stored = job.actual, (job.estimate or {}).get("plan")
    steps = int(actual.get("total_steps") or job.total_steps or 1)
    tokens = float(actual.get("total_tokens") or (stored or {}).get("total_tokens") or 0)
    if not tokens and actual.get("tokens_per_second"):
        tokens = actual["tokens_per_second"] * actual["seconds"]
    if not stored or not stored.get("total_tokens"):
        return default_plan(
            hyperparameters=job.hyperparameters, total_steps=steps, total_tokens=tokens
        )
    scale = tokens / stored["total_tokens"] if tokens else 1.0
    return {**stored, "total_steps": steps, "compute_tokens": stored["compute_tokens"] * scale}


def _memory_ratio(job: Job, profile: dict[str, Any]) -> float | None:
    peak, hp = job.actual.get("peak_memory_bytes"), job.hyperparameters
    if not peak or not hp.get("batch_size") or not hp.get("max_seq_length"):
        return None
    if job.base_model is None:  # nothing to model it with
        return None
    modelled = job_memory_bytes(
        base_model=job.base_model,
        method=job.method,
        hyperparameters=hp,
        device_kind=profile["kind"],
        data_tokens=job.dataset.total_tokens if job.dataset_id else 0,
    )
    return peak / modelled


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v]
    return statistics.median(present) if present else None


# --- The estimate ---------------------------------------------------------------------------


def estimate_job(
    *,
    base_model: BaseModel,
    method: str,
    hyperparameters: dict[str, Any],
    total_steps: int,
    total_tokens: float,
    device_kind: str | None = None,
    plan: dict[str, Any] | None = None,
    viewer: "User | None" = None,
) -> dict[str, Any]:
    """1. Model the loop's seconds and the peak memory on this kind of worker.
    2. Scale both by what finished jobs measured (see calibration()).
    3. Compare the memory with the device's and price the time."""
    profile = device_profile(device_kind)
    hp = hyperparameters
    plan = plan or default_plan(
        hyperparameters=hp, total_steps=total_steps, total_tokens=total_tokens
    )
    parts = time_breakdown(
        base_model=base_model, method=method, hyperparameters=hp, plan=plan, profile=profile
    )
    measured = calibration(
        base_model=base_model,
        method=method,
        profile=profile,
        max_seq_length=hp.get("max_seq_length"),
        viewer=viewer,
    )
    time_factor, mem_factor = measured["time"], measured["memory"]
    seconds = sum(parts.values()) * (time_factor or 1.0)
    memory = job_memory_bytes(
        base_model=base_model,
        method=method,
        hyperparameters=hp,
        device_kind=profile["kind"],
        data_tokens=plan.get("data_tokens", 0),
    ) * (mem_factor or 1.0)
    return {
        "seconds": round(seconds, 1),
        "tokens_per_second": round(total_tokens / seconds, 1) if seconds else 0.0,
        "peak_memory_bytes": int(memory),
        "device_memory_bytes": profile["memory_bytes"],
        "fits": memory + profile["reserve_bytes"] <= profile["memory_bytes"],
        "cost": worker_cost(seconds, profile["kind"], settings.WORKER_PRICES_PER_HOUR),
        "currency": _currency(),
        "device_kind": profile["kind"],
        "basis": measured["basis"],
        # What the user waits for: the loop plus loading, tokenising, exporting and sampling.
        "wall_seconds": round(seconds + measured["setup"], 1),
        "total_steps": total_steps,
        "total_tokens": total_tokens,
        "flops_per_token": flops_per_token(
            base_model, hp.get("max_seq_length") or DEFAULT_MAX_SEQ_LENGTH, method
        ),
        "breakdown": {
            name: round(value * (time_factor or 1.0), 2) for name, value in parts.items()
        },
        "engine": engine_path(profile, hp),
        "time_factor": round(time_factor, 3) if time_factor else None,
        "memory_factor": round(mem_factor, 3) if mem_factor else None,
        "plan": plan,
    }


def engine_path(profile: dict[str, Any], hyperparameters: dict[str, Any]) -> dict[str, Any]:
    """How the engine will run the step on this kind of worker (jobs/engine/loop.py): on a
    CPU the chunked head-and-loss pass (fp32, or bf16 where the CPU has bf16 instructions) and
    a thread count timed on the first batch; on CUDA bf16 autocast, TF32 and torch.compile
    with fixed batch shapes."""
    precision = hyperparameters.get("precision") or "auto"
    if precision == "auto":
        fallback = "fp32" if profile["family"] == "cpu" else "fp16"
        precision = "bf16" if profile["bf16"] else fallback
    if profile["family"] == "cpu":
        return {
            "precision": precision,
            "fused_loss": precision in ("fp32", "bf16"),
            "compile": False,
            "threads": "timed on the first batch: 1 or all",
        }
    return {"precision": precision, "fused_loss": False, "compile": True, "threads": None}


def _currency() -> str:
    return getattr(settings, "WORKER_PRICE_CURRENCY", "") or "USD"
