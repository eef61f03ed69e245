"""Request body parsers for the API that refuse, as a JSON 400 or 413, what DRF's own would
turn into a 500 or read without bound: JSON nested deeper than Python's recursion limit, and
bodies over DATA_UPLOAD_MAX_MEMORY_SIZE (REQUEST_BODY_MAX_KB). DRF reads the body from the
stream, bypassing Django's own check of that limit on request.body."""

from typing import Any

from django.conf import settings
from django.http import QueryDict
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.utils import json  # refuses NaN and Infinity, as DRF's parser does


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"


def body_too_large():
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return BodyTooLarge(
        f"The request body is larger than {limit // 1024} KB (REQUEST_BODY_MAX_KB); "
        "files go in a multipart upload."
    )


def read_limited(stream):
    """The whole body, or BodyTooLarge once it passes the limit (without reading the rest)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = stream.read(limit + 1) if stream is not None else b""
    if limit is not None and len(body) > limit:
        raise body_too_large()
    return body


UNSTORABLE = (
    "Text may not contain the NUL character or a lone surrogate (an unpaired \\ud800-\\udfff "
    "escape): neither can be stored"
)


def unstorable(value: Any, path: str = "") -> str | None:
    """Where in a parsed JSON value a string (or a key) holds NUL or a lone surrogate, which
    PostgreSQL's text and jsonb refuse: "metadata.key", "messages[2].content"; else None."""
    if isinstance(value, str):
        return path or "the value" if _bad_text(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _bad_text(key):
                return here
            found = unstorable(item, here)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = unstorable(item, f"{path}[{index}]")
            if found:
                return found
    return None


def storable(value: Any) -> Any:
    """`value` (parsed JSON) with every NUL and lone surrogate, in strings and keys, replaced by
    U+FFFD: what a report quoting a user's file can save and show."""
    if isinstance(value, str):
        return _clean(value) if _bad_text(value) else value
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [storable(item) for item in value]
    return value


def _clean(text: str) -> str:
    return "".join("\ufffd" if ch == "\x00" or 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)


def _bad_text(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        body = read_limited(stream)
        encoding = parsers.get_encoding(parser_context or {})
        try:
            data = json.loads(body.decode(encoding))
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
        except ValueError as exc:  # includes a body that is not valid in its encoding
            raise ParseError(f"JSON parse error - {exc}") from None
        # NUL and lone surrogates are refused where they would be kept: in the fields a
        # serializer reads (tunerproject.serializers), not in names the server ignores.
        return data


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        return QueryDict(read_limited(stream), encoding=encoding)
