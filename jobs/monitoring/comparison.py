"""Side-by-side views of jobs: estimate against actual, and several jobs against each other."""

from jobs.engine.constants import LORA_HYPERPARAMETERS
from jobs.models import Job, MetricPoint
from jobs.planning.hyperparameters import HYPERPARAMETERS
from jobs.templatetags.job_format import bytes_human, duration, loss, money

LORA_ONLY = set(LORA_HYPERPARAMETERS)
MAX_CHART_POINTS = 400  # per series; enough for a smooth curve at any screen width

COLORS = ["#2f5bd3", "#c2410c", "#047857", "#7c3aed", "#b91c1c", "#0e7490", "#a16207", "#be185d"]


def hyperparameter_rows(job):
    """[{name, value, requested, reason}] in the documented order; LoRA rows only for LoRA."""
    rows = []
    for name in HYPERPARAMETERS:
        if name in LORA_ONLY and job.method != Job.Method.LORA:
            continue
        if name not in job.hyperparameters and name not in job.requested_hyperparameters:
            continue
        rows.append(
            {
                "name": name,
                "value": job.hyperparameters.get(name, job.requested_hyperparameters.get(name)),
                "requested": name in job.requested_hyperparameters,
                "reason": job.hyperparameter_reasons.get(name, ""),
            }
        )
    return rows


def estimate_against_actual(job):
    """Rows of (what, estimated, measured) once the job has measured figures."""
    estimate, actual = job.estimate or {}, job.actual or {}
    currency = estimate.get("currency", "USD")
    figures = [
        ("Training time", "seconds", duration),
        ("Tokens per second", "tokens_per_second", _rate),
        ("Peak memory", "peak_memory_bytes", bytes_human),
        ("Cost", "cost", lambda v: money(v, currency)),
    ]
    rows = [
        {
            "label": label,
            "estimate": fmt(estimate.get(key)),
            "actual": fmt(actual.get(key)) if actual else "—",
        }
        for label, key, fmt in figures
        if key in estimate or key in actual
    ]
    if "wall_seconds" in estimate:
        rows.insert(
            1,
            {
                "label": "Wall time (with loading, tokenising, export)",
                "estimate": duration(estimate["wall_seconds"]),
                "actual": duration(job.duration_seconds) if actual else "—",
            },
        )
    if actual:
        rows.append({"label": "MFU", "estimate": "—", "actual": _mfu(actual)})
    if job.status == Job.Status.CANCELLED and actual:
        stopped = actual.get("total_steps", job.step)
        rows.insert(
            0,
            {
                "label": "Steps",
                "estimate": f"{job.total_steps:,}",
                "actual": f"cancelled at step {stopped:,}",
            },
        )
    return rows


def _mfu(actual):
    """Model FLOPs utilisation as a share of the device's dense bf16 peak: measured on CUDA
    devices with a known peak (jobs.engine.constants.PEAK_BF16_FLOPS), meaningless elsewhere."""
    if actual.get("mfu") is not None:
        return f"{float(actual['mfu']):.0%}"
    device = actual.get("device") or "cpu"
    return "n/a on CPU" if device == "cpu" else f"n/a: no peak figure for {device}"


def compare(jobs):
    """Chart series, hyperparameter rows with differences marked, and final metrics."""
    return {
        "series": [_series(job, COLORS[i % len(COLORS)]) for i, job in enumerate(jobs)],
        "settings_rows": _settings_rows(jobs),
        "metric_rows": _metric_rows(jobs),
    }


def _series(job, color):
    points = list(
        MetricPoint.objects.filter(job=job)
        .order_by("step", "id")
        .values_list("step", "train_loss", "eval_loss", "train_accuracy", "eval_accuracy")
    )

    def column(i):
        return _thin([[point[0], point[i]] for point in points if point[i] is not None])

    return {
        "label": f"#{job.pk} {job.name}",
        "color": color,
        "train": column(1),
        "eval": column(2),
        "train_accuracy": column(3),
        "eval_accuracy": column(4),
    }


def _thin(points):
    """Every n-th point so a long run stays light; the last point is always kept."""
    if len(points) <= MAX_CHART_POINTS:
        return points
    stride = -(-len(points) // MAX_CHART_POINTS)
    return points[::stride] + ([points[-1]] if (len(points) - 1) % stride else [])


def _settings_rows(jobs):
    rows = [
        ("Base model", [_base_label(job) for job in jobs]),
        ("Dataset", [job.dataset.name for job in jobs]),
        ("Method", [job.get_method_display() for job in jobs]),
    ]
    for name in HYPERPARAMETERS:
        values = [job.hyperparameters.get(name) for job in jobs]
        if any(value is not None for value in values):
            rows.append((name, values))
    return [
        {"name": name, "values": values, "differs": len({repr(v) for v in values}) > 1}
        for name, values in rows
    ]


def _metric_rows(jobs):
    def actual(job, key):
        return (job.actual or {}).get(key)

    return [
        {"name": "Status", "values": [job.get_status_display() for job in jobs]},
        {"name": "Final train loss", "values": [loss(job.train_loss) for job in jobs]},
        {"name": "Final eval loss", "values": [loss(job.eval_loss) for job in jobs]},
        {
            "name": "Token accuracy (train)",
            "values": [_share(actual(job, "train_accuracy")) for job in jobs],
        },
        {
            "name": "Token accuracy (validation)",
            "values": [_share(actual(job, "eval_accuracy")) for job in jobs],
        },
        {
            "name": "Validation perplexity",
            "values": [_number(actual(job, "eval_perplexity")) for job in jobs],
        },
        {"name": "Steps", "values": [f"{job.step} / {job.total_steps}" for job in jobs]},
        {"name": "Duration", "values": [duration(job.duration_seconds) for job in jobs]},
        {
            "name": "Tokens per second",
            "values": [_rate(actual(job, "tokens_per_second")) for job in jobs],
        },
        {
            "name": "Peak memory",
            "values": [bytes_human(actual(job, "peak_memory_bytes")) for job in jobs],
        },
        {"name": "Cost", "values": [money(actual(job, "cost")) for job in jobs]},
    ]


def _share(value):
    return "—" if value is None else f"{float(value):.1%}"


def _number(value):
    return "—" if value is None else f"{float(value):,.2f}"


def _rate(value):
    return "—" if value is None else f"{float(value):,.0f}"


def _base_label(job):
    if job.parent_job_id:
        return f"Job #{job.parent_job_id}"
    return job.base_model.display_name if job.base_model else "—"
