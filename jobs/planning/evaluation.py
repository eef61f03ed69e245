"""What an evaluation will take before it starts: seconds, peak memory and cost on a kind of
worker, and the pool it goes to.

A model of the work, like a job's estimate (jobs.planning.estimates): generation runs batches of
`batch_size` prompts, each a prefill and then up to `max_new_tokens` decoding steps of one token
per live sequence; a step costs the device's fixed overhead per forward pass plus its FLOPs
(about 2 per parameter per token). The reference log-likelihood is one forward pass over
prompt and reference. Memory: the fp32 weights, the key/value cache of a batch and its logits.
"""

from typing import Any

from django.conf import settings

from jobs.engine.constants import GPT2_VOCAB_SIZE, holdout_count, worker_cost
from jobs.models import BaseModel, Dataset
from jobs.planning.devices import device_profile
from jobs.planning.estimates import CPU_PROCESS_BYTES, sustained_flops
from jobs.planning.routing import cheapest_first, live_pools, offer

BYTES_PER_FLOAT = 4
# Forward passes reach a smaller share of the device's peak than training steps do: decoding
# feeds one token per sequence, so the matrices are thin.
DECODE_EFFICIENCY = 0.3


def estimate_evaluation(
    *,
    base_model: BaseModel,
    examples: int,
    prompt_tokens: float,
    reference_tokens: float,
    max_new_tokens: int,
    batch_size: int,
    generates: bool,
    device_kind: str | None = None,
) -> dict[str, Any]:
    """{seconds, peak_memory_bytes, cost, currency, device_kind, fits, ...} of evaluating
    `examples` examples whose prompts and references average the given token counts."""
    profile = device_profile(device_kind)
    params = max(base_model.parameters, 1)
    flops = sustained_flops(profile, base_model, "fp32") * DECODE_EFFICIENCY
    per_token = 2 * params / flops
    overhead = profile["batch_seconds"] + profile.get("batch_seconds_per_parameter", 0) * params
    batches = -(-examples // max(1, batch_size)) if examples else 0
    generation = 0.0
    if generates:
        prefill = examples * prompt_tokens * per_token
        decode = batches * max_new_tokens * overhead + examples * max_new_tokens * per_token
        generation = prefill + decode
    scoring = batches * overhead + examples * (prompt_tokens + reference_tokens) * per_token
    setup = profile["setup_seconds"]
    seconds = generation + scoring + setup
    memory = _memory(base_model, batch_size, prompt_tokens, max_new_tokens, profile["family"])
    return {
        "seconds": round(seconds, 1),
        "breakdown": {
            "setup": round(setup, 1),
            "generation": round(generation, 1),
            "reference_likelihood": round(scoring, 1),
        },
        "peak_memory_bytes": int(memory),
        "device_memory_bytes": profile["memory_bytes"],
        "fits": memory + profile["reserve_bytes"] <= profile["memory_bytes"],
        "cost": worker_cost(seconds, profile["kind"], settings.WORKER_PRICES_PER_HOUR),
        "currency": getattr(settings, "WORKER_PRICE_CURRENCY", "") or "USD",
        "device_kind": profile["kind"],
        "examples": examples,
    }


def _memory(
    base_model: BaseModel, batch: int, prompt_tokens: float, new_tokens: int, family: str
) -> float:
    context = base_model.context_length or 1024
    length = min(context, prompt_tokens + new_tokens)
    weights = max(base_model.parameters, 1) * BYTES_PER_FLOAT
    cache = batch * length * base_model.layers * 2 * base_model.hidden_size * BYTES_PER_FLOAT
    logits = 2 * batch * GPT2_VOCAB_SIZE * BYTES_PER_FLOAT + 2048 * GPT2_VOCAB_SIZE * 4
    process = CPU_PROCESS_BYTES if family == "cpu" else 0
    return weights + cache + logits + process


def evaluation_offers(**work: Any) -> list[dict[str, Any]]:
    """The estimate on every live pool's kind of worker, cheapest first, in the shape
    jobs.planning.routing.route reads."""
    return cheapest_first(
        [
            offer(pool, info, estimate_evaluation(device_kind=info["kind"], **work))
            for pool, info in live_pools().items()
        ]
    )


# What the automatic evaluation of a job generates (jobs.evaluations.services uses the same).
DEFAULT_MAX_NEW_TOKENS = 64
DEFAULT_BATCH_SIZE = 16


def auto_evaluation_estimate(
    *,
    dataset: Dataset,
    validation_dataset: Dataset | None,
    base_model: BaseModel,
    device_kind: str | None = None,
) -> dict[str, Any] | None:
    """The automatic evaluation a job gets once it succeeds: its model and its base model,
    each on up to EVAL_SAMPLE_SIZE held-out examples. {seconds, cost, examples, models}, or
    None when the job will have none (plain text without validation data, too few examples)."""
    source = validation_dataset or dataset
    if validation_dataset is None and dataset.kind == Dataset.Kind.TEXT:
        return None
    available = source.num_examples if validation_dataset else holdout_count(source.num_examples)
    examples = min(available, settings.EVAL_SAMPLE_SIZE)
    if not examples:
        return None
    mean = float(source.stats.get("mean_tokens") or 64)
    one = estimate_evaluation(
        base_model=base_model,
        examples=examples,
        prompt_tokens=mean,
        reference_tokens=mean / 2,
        max_new_tokens=DEFAULT_MAX_NEW_TOKENS,
        batch_size=DEFAULT_BATCH_SIZE,
        generates=source.kind != Dataset.Kind.TEXT,
        device_kind=device_kind,
    )
    return {
        "seconds": round(2 * one["seconds"], 1),
        "cost": round(2 * one["cost"], 6),
        "examples": examples,
        "models": 2,
    }
