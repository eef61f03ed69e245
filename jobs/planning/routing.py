"""Which pool a job goes to: the cheapest live pool whose workers' device memory holds the
job's estimated peak, or the one the user chose if it can; refused with the reason otherwise.

A pool is live while one of its workers has been seen within JOB_HEARTBEAT_TIMEOUT_S. With no
live worker anywhere (a single machine whose worker starts after the web server, the embedded
default) the job goes to the chosen pool or DEFAULT_POOL and waits there for a worker.
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, Min

from jobs.models import BaseModel
from jobs.models.worker import Worker
from jobs.planning import estimates


def live_pools() -> dict[str, dict[str, Any]]:
    """{pool: {"kind", "workers", "memory_bytes"}}: the smallest device memory among its live
    workers (a job must fit whichever one takes it)."""
    rows = (
        Worker.objects.live()
        .values("pool", "kind")
        .annotate(workers=Count("id"), memory_bytes=Min("memory_bytes"))
    )
    pools: dict[str, dict[str, Any]] = {}
    for row in rows:
        pool = pools.setdefault(
            row["pool"], {"kind": row["kind"], "workers": 0, "memory_bytes": row["memory_bytes"]}
        )
        pool["workers"] += row["workers"]
        pool["memory_bytes"] = min(pool["memory_bytes"], row["memory_bytes"])
    return pools


def pool_estimates(
    *,
    base_model: BaseModel,
    method: str,
    hyperparameters: dict[str, Any],
    estimate: dict[str, Any],
) -> list[dict[str, Any]]:
    """[{pool, kind, workers, device_memory_bytes, peak_memory_bytes, fits, seconds,
    wall_seconds, cost, currency}] for every live pool, cheapest first: the job's estimate
    recomputed for each pool's kind of worker, its memory set against the pool's."""
    offers = []
    for pool, info in live_pools().items():
        pooled = estimates.estimate_job(
            base_model=base_model,
            method=method,
            hyperparameters=hyperparameters,
            total_steps=estimate["total_steps"],
            total_tokens=estimate["total_tokens"],
            device_kind=info["kind"],
            plan=estimate.get("plan"),
        )
        offers.append(offer(pool, info, pooled))
    return cheapest_first(offers)


def offer(pool: str, info: dict[str, Any], pooled: dict[str, Any]) -> dict[str, Any]:
    """One live pool's offer for a job or an evaluation, in the shape route() reads: `info`
    from live_pools(), `pooled` the estimate on the pool's kind of worker."""
    return {
        "pool": pool,
        "kind": info["kind"],
        "workers": info["workers"],
        "device_memory_bytes": info["memory_bytes"],
        "peak_memory_bytes": pooled["peak_memory_bytes"],
        "fits": pooled["peak_memory_bytes"] <= info["memory_bytes"],
        "seconds": pooled["seconds"],
        "wall_seconds": pooled.get("wall_seconds", pooled["seconds"]),
        "cost": pooled["cost"],
        "currency": pooled["currency"],
    }


def cheapest_first(offers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(offers, key=lambda o: (o["cost"], o["wall_seconds"], o["pool"]))


def route(*, requested_pool: str | None, offers: list[dict[str, Any]], thing: str = "job") -> str:
    """The pool for the job (or evaluation: `thing`), or ValidationError on `pool` saying why
    none can take it."""
    requested = (requested_pool or "").strip()
    if not offers:
        return requested or settings.DEFAULT_POOL
    by_name = {offer["pool"]: offer for offer in offers}
    if requested:
        offer = by_name.get(requested)
        if offer is None:
            live = ", ".join(sorted(by_name))
            raise ValidationError(
                {"pool": [f"No live worker in pool '{requested}'. Live pools: {live}."]}
            )
        if not offer["fits"]:
            raise ValidationError({"pool": [_too_big(offer, thing)]})
        return requested
    fitting = [offer for offer in offers if offer["fits"]]
    if not fitting:
        reasons = "; ".join(_too_big(offer, thing) for offer in offers)
        raise ValidationError({"pool": [f"No live pool can fit this {thing}: {reasons}"]})
    return fitting[0]["pool"]


def _too_big(offer: dict[str, Any], thing: str) -> str:
    need, has = offer["peak_memory_bytes"] / 2**30, offer["device_memory_bytes"] / 2**30
    return (
        f"pool '{offer['pool']}' has {has:.1f} GiB of device memory, "
        f"the {thing} needs about {need:.1f} GiB"
    )
