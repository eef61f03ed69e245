"""What a dataset's records mean, and every way they can be wrong.

Three kinds of content, each with canonical field names; a column mapping renames them:
  text                {"text": ...}
  prompt_completion   {"prompt": ..., "completion": ...}
  chat                {"messages": [{"role": "system"|"user"|"assistant", "content": ...}, ...]}
"""

import json

from jobs.datasets.rows import Header, Row, RowError

KIND_FIELDS = {
    "text": ("text",),
    "prompt_completion": ("prompt", "completion"),
    "chat": ("messages",),
}
ROLES = ("system", "user", "assistant")
MAX_ERRORS_SHOWN = 20


class RowProblem(Exception):
    def __init__(self, field, message):
        super().__init__(message)
        self.field = field
        self.message = message


def mapping_problem(mapping):
    """A message if a user-supplied column mapping is not one of the three shapes, else None."""
    if not mapping:
        return None
    if not isinstance(mapping, dict) or not all(
        isinstance(v, str) and v.strip() for v in mapping.values()
    ):
        return 'Give the column mapping as an object of column names, e.g. {"text": "body"}.'
    if any("\x00" in v for v in mapping.values()):
        return "A column name cannot contain a NUL character."
    if kind_for_mapping(mapping) is None:
        return (
            'A column mapping names either "text", or "prompt" and "completion", or "messages"; '
            f"got {', '.join(sorted(mapping)) or 'nothing'}."
        )
    return None


def kind_for_mapping(mapping):
    for kind, fields in KIND_FIELDS.items():
        if set(mapping) == set(fields):
            return kind
    return None


def detect(columns, mapping):
    """(kind, mapping) for a record with these columns, or raise RowProblem.

    A user's mapping wins; otherwise the canonical names decide, and a CSV with a single column
    is plain text."""
    if mapping:
        kind = kind_for_mapping(mapping)
        return kind, {field: mapping[field].strip() for field in KIND_FIELDS[kind]}
    names = set(columns)
    for kind in ("chat", "prompt_completion", "text"):
        if names.issuperset(KIND_FIELDS[kind]):
            return kind, {field: field for field in KIND_FIELDS[kind]}
    if len(columns) == 1:
        return "text", {"text": columns[0]}
    found = ", ".join(repr(c) for c in columns) or "no fields"
    raise RowProblem(
        None,
        "Cannot tell what the records hold: expected a 'text' field, 'prompt' and 'completion' "
        f"fields, or 'messages'; found {found}. Choose the fields with a column mapping.",
    )


# --- one record -----------------------------------------------------------------------------


def normalize(kind, mapping, value):
    """The canonical example for one record, or raise RowProblem naming the field."""
    if kind == "chat":
        return {"messages": _messages(value, mapping["messages"])}
    return {field: _non_empty_string(value, mapping[field]) for field in KIND_FIELDS[kind]}


def _non_empty_string(record, column):
    if column not in record or record[column] is None:
        raise RowProblem(column, f"The field '{column}' is missing.")
    value = record[column]
    if not isinstance(value, str):
        raise RowProblem(column, f"The field '{column}' must be a string, not {_type_name(value)}.")
    if not value.strip():
        raise RowProblem(column, f"The field '{column}' is empty.")
    return value


def _messages(record, column):
    if column not in record or record[column] is None:
        raise RowProblem(column, f"The field '{column}' is missing.")
    messages = record[column]
    if isinstance(messages, str):  # a CSV cell holding JSON
        try:
            messages = json.loads(messages)
        except json.JSONDecodeError:
            raise RowProblem(
                column, f"The field '{column}' is not a JSON list of messages."
            ) from None
    if not isinstance(messages, list) or not messages:
        raise RowProblem(column, f"The field '{column}' must be a non-empty list of messages.")
    cleaned = [_message(item, f"{column}[{index}]") for index, item in enumerate(messages)]
    if not any(m["role"] == "assistant" for m in cleaned):
        raise RowProblem(
            column, "The chat has no assistant message, so there is nothing to learn from it."
        )
    return cleaned


def _message(item, where):
    if not isinstance(item, dict):
        raise RowProblem(where, f"{where} must be an object with 'role' and 'content'.")
    role = item.get("role")
    if role not in ROLES:
        shown = "missing" if role is None else repr(role)
        raise RowProblem(f"{where}.role", f"Unknown role {shown}: use system, user or assistant.")
    content = item.get("content")
    if not isinstance(content, str) or not content.strip():
        problem = (
            "missing"
            if content is None
            else "empty"
            if isinstance(content, str)
            else "not a string"
        )
        raise RowProblem(f"{where}.content", f"{where}.content is {problem}.")
    return {"role": role, "content": content}


def _type_name(value):
    names = {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        list: "a list",
        dict: "an object",
    }
    return names.get(type(value), type(value).__name__)


# --- whole records stream -------------------------------------------------------------------


class ErrorLog:
    """Keeps the first errors and counts all of them."""

    def __init__(self, limit=MAX_ERRORS_SHOWN):
        self.limit = limit
        self.shown = []
        self.count = 0

    def add(self, line, field, message):
        self.count += 1
        if len(self.shown) < self.limit:
            self.shown.append({"line": line, "field": field, "message": message})


def iter_examples_from_rows(rows, *, fmt, kind=None, mapping=None, errors=None):
    """Yield (line, kind, mapping, example) for each valid record; report the rest to `errors`.

    With no kind, it is detected from the first record (or the CSV header) and `mapping`
    is the user's override."""
    errors = errors if errors is not None else ErrorLog(limit=0)
    if fmt == "txt":
        kind, mapping = "text", {"text": "text"}
    resolved = (kind, mapping) if kind else None
    for item in rows:
        if isinstance(item, RowError):
            errors.add(item.line, item.field, item.message)
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
        kind, resolved = detect(columns, mapping)
    except RowProblem as problem:
        errors.add(getattr(item, "line", 1), problem.field, problem.message)
        return None
    if isinstance(item, Header):
        missing = [c for c in resolved.values() if c not in columns]
        if missing:
            shown = ", ".join(repr(c) for c in columns)
            errors.add(
                1, missing[0], f"The CSV has no column '{missing[0]}' (its columns: {shown})."
            )
            return None
    return kind, resolved


def _normalize_row(row: Row, fmt, resolved, errors):
    kind, mapping = resolved
    value = {"text": row.value} if fmt == "txt" else row.value
    try:
        return normalize(kind, mapping, value)
    except RowProblem as problem:
        noun = "Row" if fmt == "csv" else "Line"
        errors.add(row.line, problem.field, f"{noun} {row.line}: {problem.message}")
        return None
