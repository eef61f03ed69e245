"""Small readers for settings taken from the environment.

Each raises ImproperlyConfigured naming the variable when its value cannot be used, so a typo
stops start-up instead of running with a surprise.
"""

import os
from urllib.parse import parse_qsl, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


def env_str(name, default=""):
    return os.environ.get(name, default)


def env_bool(name, default=False):
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false, yes/no), not {raw!r}")


def env_int(name, default, *, minimum=None):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_float(name, default, *, minimum=None):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_list(name, default=()):
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_prices(name, default):
    """Prices per kind of worker: "cpu=0.10,cuda=2.50" -> {"cpu": 0.1, "cuda": 2.5}."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return dict(default)
    prices = {}
    for item in raw.split(","):
        kind, _, price = item.strip().partition("=")
        try:
            prices[kind.strip()] = float(price)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must look like cpu=0.10,cuda=2.50, not {raw!r}"
            ) from None
        if not kind.strip() or prices[kind.strip()] < 0:
            raise ImproperlyConfigured(f"{name} must look like cpu=0.10,cuda=2.50, not {raw!r}")
    return prices


def parse_database_url(url, *, name="DATABASE_URL"):
    """Turn postgres://user:pass@host:port/db?opt=v or sqlite:///path into DATABASES['default']."""
    parsed = urlparse(url)
    options = dict(parse_qsl(parsed.query))
    if parsed.scheme == "sqlite":
        # sqlite:///relative/path, sqlite:////absolute/path, sqlite:///:memory:
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
        if not path:
            raise ImproperlyConfigured(f"{name} for SQLite must look like sqlite:///path/to/db")
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path,
            "OPTIONS": {"timeout": 20, **options},
        }
    if parsed.scheme in {"postgres", "postgresql", "pgsql"}:
        database = unquote(parsed.path.lstrip("/"))
        if not database:
            raise ImproperlyConfigured(f"{name} must name a database: postgres://host/dbname")
        try:
            port = parsed.port
        except ValueError:
            raise ImproperlyConfigured(f"{name} has an invalid port") from None
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": database,
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(port or ""),
            # 0: a connection per request. runserver serves each browser connection on its own
            # thread, and persistent connections there exhaust PostgreSQL's max_connections.
            "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 0, minimum=0),
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    raise ImproperlyConfigured(
        f"{name} must start with postgres:// or sqlite:///, not {parsed.scheme or url!r}"
    )


RATE_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day"}


def env_rate(name, default):
    """A throttle rate such as "10/min" or "100/hour" (DRF's form); "off" disables it (None)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"off", "none"}:
        return None
    count, _, period = value.partition("/")
    if not count.isdigit() or int(count) < 1 or period[:1] not in RATE_UNITS:
        raise ImproperlyConfigured(
            f"{name} must look like 10/min (a count per second, min, hour or day) or off, "
            f"not {raw!r}"
        )
    return value
