"""Ids and integers from URLs, query strings and forms, as the database can take them.

Both apps use these, so they sit here, below accounts and jobs: a malformed or out-of-range
value is "not found" (None, False), never a database error.
"""

from django.core.exceptions import ValidationError

DB_INT_MAX = 2**63 - 1  # the widest integer SQLite and PostgreSQL compare a column with
ID_MAX = 2**31 - 1  # the largest id an integer primary key holds


def parse_int(text: str | None) -> int | None:
    """`text` as an integer the database can compare with, or None. ASCII digits only:
    str.isdigit() also accepts characters such as "²" that int() refuses."""
    text = (text or "").strip()
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()):
        return None
    value = int(text)
    return value if -DB_INT_MAX <= value <= DB_INT_MAX else None


def is_id(value: object) -> bool:
    """Whether `value` is an id a primary key can hold (a positive 32-bit integer)."""
    try:
        return 0 < int(value) <= ID_MAX  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return False


def unknown(field: str, message: str) -> ValidationError:
    """The error for a field that names something which does not exist among the caller's
    things: a form shows it like any other; the API answers 404 (code "not_found", see
    tunerproject.api.NOT_FOUND_CODES)."""
    return ValidationError({field: ValidationError(message, code="not_found")})
