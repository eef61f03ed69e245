"""The OpenAPI schema states the errors every operation can answer with, so a client (and
schemathesis) knows a 400, 401, 404 or 429 is part of the contract, always as JSON."""

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """`detail` says what is wrong; validation errors name each field instead:
    {"field": ["message", ...]}."""

    detail = serializers.CharField(required=False)


ERRORS = {
    "400": "Invalid input: `detail` or one list of messages per field",
    "401": "No valid token or session",
    "403": "Not allowed (for example a read-only token sending a change)",
    "404": "No such object among yours, or no such page",
    "405": "Method not allowed",
    "406": "Cannot answer in the format the Accept header asks for",
    "409": "The object's state does not allow this (yet)",
    "413": "Request body over REQUEST_BODY_MAX_KB",
    "415": "Unsupported request content type",
    "429": "Throttled or locked out; see the Retry-After header",
}


class TunerAutoSchema(AutoSchema):
    """drf-spectacular's schema, stating what the server enforces:
    - request bodies are JSON: the API also parses forms, but a form cannot say null or nest an
      object, so documenting it would promise requests the server must refuse (the dataset
      upload, a file, declares multipart itself);
    - a text field the server refuses blank has minLength 1 (ENFORCE_NON_BLANK_FIELDS) and, as
      the server trims whitespace first, a pattern asking for one non-space character."""

    def map_parsers(self):
        return ["application/json"]

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        refuses_blank = isinstance(field, serializers.CharField) and not field.allow_blank
        if refuses_blank and field.trim_whitespace and direction == "request":
            if schema.get("type") == "string" and "pattern" not in schema:
                schema["pattern"] = r"\S"
        return schema

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, description in ERRORS.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code)
                responses[code]["description"] = description
        return responses
