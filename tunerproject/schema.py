"""The OpenAPI schema states the errors every operation can answer with, so a client (and
schemathesis) knows a 400, 401, 404 or 429 is part of the contract, always as JSON."""

from django.core.validators import RegexValidator
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


NO_NUL = r"^[^\u0000]*$"
NON_BLANK = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"  # and one character that is not a space


class TunerAutoSchema(AutoSchema):
    """drf-spectacular's schema, stating what the server enforces:
    - request bodies are JSON: the API also parses forms, but a form cannot say null or nest an
      object, so documenting it would promise requests the server must refuse (the dataset
      upload, a file, declares multipart itself);
    - a text field the server refuses blank has minLength 1 (ENFORCE_NON_BLANK_FIELDS) and, as
      the server trims whitespace first, a pattern asking for one non-space character;
    - text holds no NUL (PostgreSQL stores none; tunerproject.serializers refuses it);
    - a list the server refuses empty has minItems 1; a closed object (`closed = True` on its
      serializer) has additionalProperties false; `one_of_required` names fields of which one
      must be given."""

    def map_parsers(self):
        return ["application/json"]

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction != "request":
            return schema
        if isinstance(field, serializers.FileField):  # an upload's part, not a URL
            return {**schema, "type": "string", "format": "binary"}
        if isinstance(field, serializers.RegexField):  # drf-spectacular leaves its regex out
            regex = next(v.regex for v in field.validators if isinstance(v, RegexValidator))
            schema["pattern"] = regex.pattern
        refuses_blank = isinstance(field, serializers.CharField) and not field.allow_blank
        text = schema.get("type") == "string" and "format" not in schema and "enum" not in schema
        if text and "pattern" not in schema:  # no NUL: PostgreSQL cannot store it
            blank = refuses_blank and field.trim_whitespace
            schema["pattern"] = NON_BLANK if blank else NO_NUL
        is_list = isinstance(field, serializers.ListField | serializers.MultipleChoiceField)
        if is_list and not field.allow_empty and schema.get("type") == "array":
            schema["minItems"] = max(1, schema.get("minItems", 0))
        return schema

    def _get_request_body(self, direction="request"):
        """A body whose serializer needs one of several fields must be sent (an absent body
        has none of them)."""
        body = super()._get_request_body(direction)
        if body is not None and getattr(self.get_request_serializer(), "one_of_required", None):
            body["required"] = True
        return body

    def _map_basic_serializer(self, serializer, direction):
        """A serializer that needs one of several fields says so with `one_of_required`
        (its validate() refuses a request with none): the schema's anyOf of `required`."""
        schema = super()._map_basic_serializer(serializer, direction)
        names = getattr(serializer, "one_of_required", None)
        if names and direction == "request":
            schema["anyOf"] = [{"required": [name]} for name in names]
        if getattr(serializer, "closed", False):  # the server refuses other names
            schema["additionalProperties"] = False
        return schema

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, description in ERRORS.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code)
                responses[code]["description"] = description
        return responses
