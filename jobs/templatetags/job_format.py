"""Template filters that write job figures the way people read them (durations, bytes, money)."""

from django import template

register = template.Library()


@register.filter
def duration(seconds):
    """12 s, 3 min 05 s, 2 h 07 min; a dash when unknown."""
    if seconds is None or seconds == "":
        return "—"
    seconds = int(round(float(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@register.filter
def bytes_human(value):
    if value is None or value == "":
        return "—"
    value = float(value)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return "—"


@register.filter
def money(value, currency="USD"):
    """Cents, and "< 0.01" for a cost above zero that rounds to none (static/js/common.js's
    money() writes the same, so the wizard and the job page agree)."""
    if value is None or value == "":
        return "—"
    value = float(value)
    if 0 < value < 0.01:
        return f"< 0.01 {currency}"
    return f"{value:.2f} {currency}"


@register.filter
def loss(value):
    return "—" if value is None else f"{float(value):.4f}"


@register.filter
def compact(value):
    """Large counts as 1.2k, 3.4M, 124M; small numbers unchanged."""
    if value is None or value == "":
        return "—"
    value = float(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.1f}{suffix}".replace(".0", "")
    return f"{value:g}"


@register.filter
def hp_value(value):
    """A hyperparameter as a person reads it (5e-05, not 4.9999999e-05)."""
    if isinstance(value, float):
        return f"{value:g}"
    return "—" if value is None else value
