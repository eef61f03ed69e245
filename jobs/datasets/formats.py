"""The record shapes people bring from other fine-tuning tools, and how each becomes an example.

Every format turns into one of three kinds the engine trains on (see segments.py):
  text               {"text": ...}
  prompt_completion  {"prompt": ..., "completion": ...}
  chat               {"messages": [{"role": "system"|"user"|"assistant", "content": ...}, ...]}

Formats, in the order they are recognised (the first whose required fields a record has):
  openai_chat        {"messages": [{"role", "content"}, ...]}                  -> chat
  sharegpt           {"conversations": [{"from", "value"}, ...], "system"?}    -> chat
  alpaca             {"instruction", "input"?, "output", "system"?}           -> prompt_completion
  prompt_completion  {"prompt", "completion"} (also OpenAI's legacy format)   -> prompt_completion
  text               {"text"}                                                 -> text
"""

import json
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class DataFormat:
    name: str
    kind: str
    required: tuple
    optional: tuple
    label: str  # how the portal and error messages name it
    shape: str  # one record, as the user would write it
    template: str = ""  # what the model sees, for the preview's legend and the README

    @property
    def fields(self):
        return self.required + self.optional


FORMATS = {
    f.name: f
    for f in (
        DataFormat(
            "openai_chat",
            "chat",
            ("messages",),
            (),
            "OpenAI chat messages",
            '{"messages": [{"role": "user", "content": "…"}, '
            '{"role": "assistant", "content": "…"}]}',
            "one line per message: System: …, User: …, Assistant: …, then <|endoftext|>",
        ),
        DataFormat(
            "sharegpt",
            "chat",
            ("conversations",),
            ("system",),
            "ShareGPT conversations",
            '{"conversations": [{"from": "human", "value": "…"}, {"from": "gpt", "value": "…"}]}',
            "as chat: the system field first, then one line per turn (human: User, gpt: "
            "Assistant), then <|endoftext|>",
        ),
        DataFormat(
            "alpaca",
            "prompt_completion",
            ("instruction", "output"),
            ("input", "system"),
            "Alpaca instructions",
            '{"instruction": "…", "input": "…", "output": "…"}',
            "{system}\n\n### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n"
            "### Response:\n{output}<|endoftext|>\n\n"
            "(The system paragraph and the Input section are left out when empty.)",
        ),
        DataFormat(
            "prompt_completion",
            "prompt_completion",
            ("prompt", "completion"),
            (),
            "prompt / completion pairs",
            '{"prompt": "…", "completion": "…"}',
            "the prompt, a newline unless one is there, the completion, then <|endoftext|>",
        ),
        DataFormat(
            "text", "text", ("text",), (), "plain text", '{"text": "…"}', "the text, packed"
        ),
    )
}
# Datasets stored before formats were named carry only their kind.
FORMAT_OF_KIND = {"text": "text", "prompt_completion": "prompt_completion", "chat": "openai_chat"}
ROLES = ("system", "user", "assistant")
SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "system": "system",
}
# A string holding one of these came from a lone "\ud800"-style JSON escape: it is not text,
# cannot be stored or tokenized, and would make the tokenizer fail the whole batch.
SURROGATE = re.compile("[\ud800-\udfff]")


class RowProblem(Exception):
    def __init__(self, field, message):
        super().__init__(message)
        self.field = field
        self.message = message


def alpaca_prompt(instruction, input_text="", system=""):
    """The documented Alpaca template; the response (output) follows it directly."""
    parts = [system.strip() + "\n\n"] if system and system.strip() else []
    parts.append(f"### Instruction:\n{instruction}\n\n")
    if input_text and input_text.strip():
        parts.append(f"### Input:\n{input_text}\n\n")
    parts.append("### Response:\n")
    return "".join(parts)


def normalize(format_name, mapping, record):
    """The canonical example of `format_name`'s kind for one record, or raise RowProblem."""
    if format_name == "openai_chat":
        return {"messages": _openai_messages(record, mapping["messages"])}
    if format_name == "sharegpt":
        return {"messages": _sharegpt_messages(record, mapping)}
    if format_name == "alpaca":
        return _alpaca(record, mapping)
    fields = FORMATS[format_name].required
    return {field: non_empty_string(record, mapping[field]) for field in fields}


def non_empty_string(record, column):
    if column not in record or record[column] is None:
        raise RowProblem(column, f"The field '{column}' is missing.")
    return _text(record[column], column, f"The field '{column}'")


def _optional_string(record, mapping, field):
    column = mapping.get(field)
    if column is None or record.get(column) in (None, ""):
        return ""
    value = record[column]
    if not isinstance(value, str):
        raise RowProblem(column, f"The field '{column}' must be a string, not {type_name(value)}.")
    _check_surrogates(value, column, f"The field '{column}'")
    return value


def _text(value, where, subject):
    if not isinstance(value, str):
        raise RowProblem(where, f"{subject} must be a string, not {type_name(value)}.")
    if not value.strip():
        raise RowProblem(where, f"{subject} is empty.")
    _check_surrogates(value, where, subject)
    return value


def _check_surrogates(value, where, subject):
    found = SURROGATE.search(value)
    if found:
        raise RowProblem(
            where,
            f"{subject} holds a lone surrogate escape (\\u{ord(found.group()):04x}) at "
            f"character {found.start() + 1}, which is not text.",
        )


def _alpaca(record, mapping):
    instruction = non_empty_string(record, mapping["instruction"])
    output = non_empty_string(record, mapping["output"])
    input_text = _optional_string(record, mapping, "input")
    system = _optional_string(record, mapping, "system")
    return {"prompt": alpaca_prompt(instruction, input_text, system), "completion": output}


# --- chat -----------------------------------------------------------------------------------


def _turns(record, column):
    if column not in record or record[column] is None:
        raise RowProblem(column, f"The field '{column}' is missing.")
    turns = record[column]
    if isinstance(turns, str):  # a CSV cell holding JSON
        turns = _json_cell(turns, column)
    if not isinstance(turns, list) or not turns:
        raise RowProblem(column, f"The field '{column}' must be a non-empty list of messages.")
    return turns


def _json_cell(text, column):
    try:
        return json.loads(text, parse_int=parse_json_int)
    except (ValueError, RecursionError):
        raise RowProblem(column, f"The field '{column}' is not a JSON list of messages.") from None


def _openai_messages(record, column):
    turns = _turns(record, column)
    return _with_assistant(
        [_openai_message(item, f"{column}[{i}]") for i, item in enumerate(turns)], column
    )


def _openai_message(item, where):
    if not isinstance(item, dict):
        raise RowProblem(where, f'{where} must be an object such as {{"role": "user", ...}}.')
    role = item.get("role")
    if role is None and "from" in item:
        raise RowProblem(
            f"{where}.role",
            f"{where} has 'from' and 'value' as in ShareGPT, but OpenAI chat messages were "
            'expected ({"role": "user", "content": "…"}). Name this column '
            "'conversations' in the mapping to read it as ShareGPT.",
        )
    if role not in ROLES:
        shown = "no 'role'" if role is None else f"the role {short_repr(role)}"
        raise RowProblem(
            f"{where}.role",
            f"{where} has {shown}: OpenAI chat messages have a role of system, user or "
            'assistant, as in {"role": "user", "content": "…"}.',
        )
    content = _message_text(item.get("content"), f"{where}.content")
    return {"role": role, "content": content}


def _sharegpt_messages(record, mapping):
    column = mapping["conversations"]
    turns = _turns(record, column)
    messages = [_sharegpt_turn(item, f"{column}[{i}]") for i, item in enumerate(turns)]
    system = _optional_string(record, mapping, "system")
    if system.strip() and not any(m["role"] == "system" for m in messages):
        messages.insert(0, {"role": "system", "content": system})
    return _with_assistant(messages, column)


def _sharegpt_turn(item, where):
    if not isinstance(item, dict):
        raise RowProblem(where, f'{where} must be an object such as {{"from": "human", ...}}.')
    speaker = item.get("from")
    if speaker is None and "role" in item:
        raise RowProblem(
            f"{where}.from",
            f"{where} has 'role' and 'content' as in OpenAI chat, but ShareGPT turns were "
            'expected ({"from": "human", "value": "…"}). Name this column \'messages\' '
            "in the mapping to read it as OpenAI chat.",
        )
    if speaker not in SHAREGPT_ROLES:
        shown = "no 'from'" if speaker is None else f"the speaker {short_repr(speaker)}"
        raise RowProblem(
            f"{where}.from",
            f"{where} has {shown}: ShareGPT turns come from human, gpt or system (or user, "
            'assistant), as in {"from": "human", "value": "…"}.',
        )
    content = _message_text(item.get("value"), f"{where}.value")
    return {"role": SHAREGPT_ROLES[speaker], "content": content}


def _message_text(content, where):
    if content is None:
        raise RowProblem(where, f"{where} is missing.")
    if isinstance(content, str) and not content.strip():
        raise RowProblem(where, f"{where} is empty.")
    return _text(content, where, where)


def _with_assistant(messages, column):
    if not any(m["role"] == "assistant" for m in messages):
        raise RowProblem(
            column, "The chat has no assistant message, so there is nothing to learn from it."
        )
    return messages


# --- small helpers --------------------------------------------------------------------------


class HugeNumber(int):
    """Stands for a JSON integer too long for Python to convert (over 4,300 digits): the record
    still parses, and only the field that holds it is an error."""


def parse_json_int(digits):
    try:
        return int(digits)
    except ValueError:
        return HugeNumber(0)


def type_name(value):
    names = {
        bool: "a boolean",
        int: "a number",
        HugeNumber: "a number",
        float: "a number",
        list: "a list",
        dict: "an object",
    }
    return names.get(type(value), type(value).__name__)


def short_repr(value, limit=40):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
