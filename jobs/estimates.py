"""Time, memory and cost estimates for a job. MINIMAL PLACEHOLDER (a FLOPs estimate) until the
auto-config/estimates work replaces it; the keys are the agreed interface."""

from django.conf import settings

ASSUMED_FLOPS = {"cpu": 2e10, "cuda": 2e14}  # sustained FLOP/s, rough


def estimate_job(*, base_model, method, hyperparameters, total_steps, total_tokens, device_kind=None):
    kind = device_kind or settings.WORKER_KIND
    flops = 6 * base_model.parameters * max(total_tokens, 1)
    seconds = flops / ASSUMED_FLOPS.get(kind, ASSUMED_FLOPS["cpu"])
    memory = base_model.parameters * (16 if method == "full" else 4)
    return {
        "seconds": seconds, "tokens_per_second": total_tokens / seconds if seconds else 0.0,
        "peak_memory_bytes": memory, "device_memory_bytes": 0, "fits": True,
        "cost": seconds / 3600 * settings.WORKER_PRICES_PER_HOUR.get(kind, 0.0), "currency": "USD",
        "device_kind": kind, "basis": "FLOPs estimate",
    }
