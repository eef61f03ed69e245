"""What a dataset's records mean, and every way they can be wrong.

The formats and how one record becomes an example are in formats.py; this module detects the
format (or applies the user's column mapping) and judges a stream of records, collecting errors.
"""

from jobs.datasets.formats import FORMATS, RowProblem, normalize
from jobs.datasets.rows import Header, Row, RowError

MAX_ERRORS_SHOWN = 20
DETECTION_ORDER = tuple(FORMATS)
MAPPING_HELP = (
    'A column mapping names the fields of one format: "text"; "prompt" and "completion"; '
    '"instruction" and "output" with optional "input" and "system" (Alpaca); "messages" '
    '(OpenAI chat); or "conversations" with an optional "system" (ShareGPT)'
)


def mapping_problem(mapping):
    """A message if a user-supplied column mapping fits no format, else None."""
    if not mapping:
        return None
    if not isinstance(mapping, dict) or not all(
        isinstance(v, str) and v.strip() for v in mapping.values()
    ):
        return 'Give the column mapping as an object of column names, e.g. {"text": "body"}.'
    if any("\x00" in v or not _is_text(v) for v in [*mapping, *mapping.values()]):
        return "A column name cannot contain a NUL character or a lone surrogate escape."
    if format_for_mapping(mapping) is None:
        return f"{MAPPING_HELP}; got {', '.join(sorted(mapping)) or 'nothing'}."
    return None


def _is_text(value):
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def format_for_mapping(mapping):
    for data_format in FORMATS.values():
        keys = set(mapping)
        if keys.issuperset(data_format.required) and keys.issubset(data_format.fields):
            return data_format.name
    return None


def detect(columns, mapping):
    """(format name, mapping of the format's fields to columns) for a record with these columns,
    or raise RowProblem.

    A user's mapping wins; otherwise the canonical names decide (optional fields map to their
    own names: a record may or may not have them), and a CSV with a single column is text."""
    if mapping:
        name = format_for_mapping(mapping)
        return name, {field: column.strip() for field, column in mapping.items()}
    names = set(columns)
    for data_format in FORMATS.values():
        if names.issuperset(data_format.required):
            return data_format.name, {field: field for field in data_format.fields}
    if len(columns) == 1:
        return "text", {"text": columns[0]}
    found = ", ".join(short_name(c) for c in columns[:20]) or "no fields"
    raise RowProblem(
        None,
        "Cannot tell what the records hold: expected 'text'; 'prompt' and 'completion'; "
        "'instruction' and 'output' (Alpaca); 'messages' (OpenAI chat); or 'conversations' "
        f"(ShareGPT). Found {found}. Choose the fields with a column mapping.",
    )


def short_name(column):
    text = repr(column)
    return text if len(text) <= 40 else text[:39] + "…"


# --- whole records stream -------------------------------------------------------------------


class ErrorLog:
    """Keeps the first errors and counts all of them; `fatal` counts those that concern the
    whole file (it cannot be read on, or its records cannot be understood), which skipping
    invalid rows cannot get past."""

    def __init__(self, limit=MAX_ERRORS_SHOWN):
        self.limit = limit
        self.shown = []
        self.count = 0
        self.fatal = 0

    def add(self, line, field, message, *, fatal=False):
        self.count += 1
        self.fatal += bool(fatal)
        if len(self.shown) < self.limit:
            self.shown.append({"line": line, "field": field, "message": message})


def iter_examples_from_rows(rows, *, fmt, data_format=None, mapping=None, errors=None):
    """Yield (line, format name, mapping, example) for each valid record; report the rest to
    `errors`.

    With no data_format, it is detected from the first record (or the CSV header) and `mapping`
    is the user's override."""
    errors = errors if errors is not None else ErrorLog(limit=0)
    if fmt == "txt":
        data_format, mapping = "text", {"text": "text"}
    resolved = (data_format, mapping) if data_format else None
    for item in rows:
        if isinstance(item, RowError):
            errors.add(item.line, item.field, item.message, fatal=item.fatal)
            continue
        if resolved is None:
            resolved = _resolve(item, mapping, errors)
            if resolved is None:
                return
        if isinstance(item, Header):
            continue
        example = _normalize_row(item, fmt, resolved, errors)
        if example is not None:
            yield item.line, *resolved, example


def _resolve(item, mapping, errors):
    columns = item.columns if isinstance(item, Header) else list(item.value)
    try:
        name, resolved = detect(columns, mapping)
    except RowProblem as problem:
        errors.add(getattr(item, "line", 1), problem.field, problem.message, fatal=True)
        return None
    if isinstance(item, Header):
        # Optional fields (Alpaca's input) may be absent unless the user named their column.
        needed = [resolved[f] for f in resolved if f in FORMATS[name].required or mapping]
        missing = [c for c in needed if c not in columns]
        if missing:
            shown = ", ".join(short_name(c) for c in columns[:20])
            message = f"The CSV has no column '{missing[0]}' (its columns: {shown})."
            errors.add(1, missing[0], message, fatal=True)
            return None
    return name, resolved


def _normalize_row(row: Row, fmt, resolved, errors):
    name, mapping = resolved
    value = {"text": row.value} if fmt == "txt" else row.value
    try:
        return normalize(name, mapping, value)
    except RowProblem as problem:
        noun = "Row" if fmt == "csv" else "Line"
        errors.add(row.line, problem.field, f"{noun} {row.line}: {problem.message}")
        return None
