"""The shape of what clients send, checked field by field: each problem is a 400 naming the
field as `param`. Values the platform checks itself (hyperparameter ranges, the base model)
are passed on and its messages come back with the client's field names (errors.PARAMS)."""

import re
from typing import Any

from jobs.openai_api.errors import OpenAIError
from jobs.planning.autoconfig import HYPERPARAMETERS

SUFFIX = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
METADATA_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# The largest seed a torch generator takes (a larger one overflowed inside the inference pool
# and came back as a 503 the client would retry).
SEED_MAX = 2**63 - 1
FT_NAME = re.compile(r"^ft:[^:]+:[^:]+:ftjob-([0-9]+)$")  # ASCII digits only
# OpenAI's names for the platform's, where they differ.
OPENAI_NAMES = {"n_epochs": "epochs"}


def _check(condition: object, message: str, param: str) -> None:
    if not condition:
        raise OpenAIError(message, param=param)


def model_key(name: str) -> str:
    """The catalog key for a model name: `ft:…:ftjob-<id>` is the user's job `job-<id>`."""
    match = FT_NAME.fullmatch(name)
    return f"job-{match.group(1)}" if match else name


def fine_tune_request(body: dict[str, Any]) -> dict[str, Any]:
    for name in ("model", "training_file"):
        _check(isinstance(body.get(name), str) and body[name], f"{name} is required.", name)
    values = {
        "model_key": model_key(body["model"]),
        "training_file": body["training_file"],
        "validation_file": _optional_str(body, "validation_file"),
        "suffix": _suffix(body.get("suffix")),
        "metadata": _metadata(body.get("metadata")),
    }
    _check(not body.get("integrations"), "Integrations are not supported here.", "integrations")
    hyperparameters, param = _hyperparameters_source(body)
    requested, multiplier = _hyperparameters(hyperparameters, param)
    if body.get("seed") is not None:
        seed = body["seed"]
        _check(
            isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed <= 2**31 - 1,
            f"seed must be a whole number from 0 to {2**31 - 1}.",
            "seed",
        )
        requested["seed"] = body["seed"]
    return {**values, "hyperparameters": requested, "learning_rate_multiplier": multiplier}


def _optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    _check(value is None or isinstance(value, str), f"{name} must be a file id.", name)
    return value or None


def _suffix(value: Any) -> str:
    if value in (None, ""):
        return ""
    _check(
        isinstance(value, str) and SUFFIX.fullmatch(value),
        "suffix is 1 to 64 letters, digits, '.', '_' or '-'.",
        "suffix",
    )
    return value


def _metadata(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    _check(isinstance(value, dict), "metadata must be an object of strings.", "metadata")
    _check(len(value) <= 16, "metadata holds at most 16 keys.", "metadata")
    for key, item in value.items():
        _check(
            METADATA_KEY.fullmatch(key),
            f"metadata key {key!r}: 1 to 64 letters, digits, '.', '_' or '-'.",
            "metadata",
        )
        _check(
            isinstance(item, str) and len(item) <= 512,
            f"metadata[{key}] must be a string of at most 512 characters.",
            "metadata",
        )
    return value


def _hyperparameters_source(body: dict[str, Any]) -> tuple[Any, str]:
    """The hyperparameters object, from `method` (the current form) or the top level."""
    method = body.get("method")
    if method is None:
        return body.get("hyperparameters") or {}, "hyperparameters"
    _check(isinstance(method, dict), "method must be an object.", "method")
    _check(
        method.get("type", "supervised") == "supervised",
        f"Only supervised fine-tuning is available, not {method.get('type')!r}.",
        "method.type",
    )
    supervised = method.get("supervised") or {}
    _check(isinstance(supervised, dict), "method.supervised must be an object.", "method")
    return supervised.get("hyperparameters") or {}, "method.supervised.hyperparameters"


def _hyperparameters(raw: Any, param: str) -> tuple[dict[str, Any], float | None]:
    """(the platform's requested hyperparameters, learning-rate multiplier or None). "auto"
    leaves a value to auto-configuration; the platform's own names (max_seq_length,
    save_steps…) are accepted too."""
    _check(isinstance(raw, dict), "hyperparameters must be an object.", param)
    requested, multiplier = {}, None
    for name, value in raw.items():
        if value == "auto" or value is None:
            continue
        if name == "learning_rate_multiplier":
            ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
            _check(
                ok,
                'learning_rate_multiplier must be a number above 0 or "auto".',
                f"{param}.{name}",
            )
            multiplier = float(value)
            continue
        platform = OPENAI_NAMES.get(name, name)
        known = ", ".join(["n_epochs", "batch_size", "learning_rate_multiplier"])
        _check(
            platform in HYPERPARAMETERS,
            f"Unknown hyperparameter {name!r}. Known: {known}, and the platform's own.",
            f"{param}.{name}",
        )
        requested[platform] = value
    return requested, multiplier


def _number(
    body: dict[str, Any], name: str, default: float, *, low: float, high: float, whole: bool = False
) -> float:
    value = body.get(name, default)
    if value is None:
        return default
    kinds = int if whole else int | float
    ok = isinstance(value, kinds) and not isinstance(value, bool) and low <= value <= high
    kind = "a whole number" if whole else "a number"
    _check(ok, f"{name} must be {kind} from {low} to {high}.", name)
    return value


def sampling_request(body: dict[str, Any]) -> dict[str, Any]:
    """The sampling options common to completions and chat completions, checked."""
    _check(isinstance(body.get("model"), str) and body["model"], "model is required.", "model")
    stop = body.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    _check(
        stop is None
        or (
            isinstance(stop, list)
            and len(stop) <= 4
            and all(isinstance(s, str) and s for s in stop)
        ),
        "stop is a string or a list of up to 4 non-empty strings.",
        "stop",
    )
    seed = body.get("seed")
    _check(
        seed is None
        or (isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed <= SEED_MAX),
        f"seed must be a whole number from 0 to {SEED_MAX}.",
        "seed",
    )
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    return {
        "model": body["model"],
        "max_tokens": _number(
            {"max_tokens": max_tokens}, "max_tokens", 16, low=1, high=4096, whole=True
        ),
        "temperature": _number(body, "temperature", 1.0, low=0, high=2),
        "top_p": _number(body, "top_p", 1.0, low=0.01, high=1),
        "n": _number(body, "n", 1, low=1, high=8, whole=True),
        "stop": stop or [],
        "seed": seed,
        "stream": bool(body.get("stream", False)),
        "include_usage": _include_usage(body.get("stream_options")),
    }


def _include_usage(options: Any) -> bool:
    _check(
        options is None or isinstance(options, dict),
        'stream_options must be an object such as {"include_usage": true}.',
        "stream_options",
    )
    return bool((options or {}).get("include_usage"))


def completion_prompt(body: dict[str, Any]) -> str:
    prompt = body.get("prompt", "")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    _check(
        isinstance(prompt, str), "prompt must be a string (one prompt per request here).", "prompt"
    )
    return prompt


def chat_messages(body: dict[str, Any]) -> list[dict[str, str]]:
    messages: Any = body.get("messages")  # JSON, checked below
    _check(
        isinstance(messages, list) and messages, "messages must be a non-empty list.", "messages"
    )
    checked = []
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        _check(isinstance(message, dict), f"{where} must be an object.", where)
        role = message.get("role")
        if role == "developer":
            role = "system"
        _check(
            role in ("system", "user", "assistant"),
            f"{where}.role must be system, developer, user or assistant.",
            f"{where}.role",
        )
        checked.append({"role": role, "content": _content(message.get("content"), where)})
    return checked


def _content(content: Any, where: str) -> str:
    if isinstance(content, list):  # content parts: only text ones mean anything to this model
        parts: list[Any] = [
            p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"
        ]
        _check(
            parts and all(isinstance(p, str) for p in parts),
            f"{where}.content holds no text parts.",
            f"{where}.content",
        )
        return "".join(parts)
    _check(isinstance(content, str), f"{where}.content must be a string.", f"{where}.content")
    return content
