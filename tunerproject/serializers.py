"""Serializers that take JSON at its word: a JSON body's values must have the types the schema
states, and hold no text PostgreSQL cannot store (NUL, a lone surrogate). DRF's fields convert
what they can (`{"name": 0}` becomes the name "0", `"5"` the integer 5, `"yes"` true), which the
schema does not say and a client should not rely on; every API serializer derives from these,
so a value of the wrong type is a 400 naming the field.

Forms and query strings carry only text, so their values are converted as DRF does."""

from collections.abc import Mapping
from typing import Any

from django.http import QueryDict
from rest_framework import serializers
from rest_framework.fields import empty

from tunerproject.parsers import UNSTORABLE, unstorable

# (field class, the JSON types it takes, what to call them); the first match applies, so
# subclasses come before their bases.
_JSON_TYPES: list[tuple[type[serializers.Field], tuple[type, ...], str]] = [
    (serializers.BooleanField, (bool,), "true or false"),
    (serializers.IntegerField, (int,), "an integer"),
    (serializers.PrimaryKeyRelatedField, (int,), "an integer"),  # our ids are integers
    (serializers.FloatField, (int, float), "a number"),
    (serializers.DecimalField, (int, float, str), "a number"),
    (serializers.MultipleChoiceField, (list,), "a list"),
    (serializers.ChoiceField, (str,), "a string"),
    (serializers.CharField, (str,), "a string"),
    (serializers.ListField, (list,), "a list"),
    (serializers.DictField, (dict,), "an object"),
]
_JSON_NAMES = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}


def _type_error(field: serializers.Field, value: Any) -> str | None:
    """What is wrong with `value`'s JSON type for `field`, or None."""
    if value is None or isinstance(field, serializers.JSONField):
        return None  # null is the field's allow_null business; JSON takes anything
    for field_class, types, expected in _JSON_TYPES:
        if isinstance(field, field_class):
            wrong = isinstance(value, bool) and bool not in types  # bool is an int in Python
            if wrong or not isinstance(value, types):
                got = _JSON_NAMES.get(type(value), "a list" if isinstance(value, list) else None)
                return f"Expected {expected}, got {got or 'an object'}."
            return None
    return None


def check_json_types(fields: Mapping[str, serializers.Field], data: Any) -> None:
    """A ValidationError naming each field of a JSON object whose value has the wrong type."""
    if not isinstance(data, dict) or isinstance(data, QueryDict):
        return
    errors = {}
    for name, field in fields.items():
        value = data.get(name, empty)
        if field.read_only or value is empty:
            continue
        message = _type_error(field, value)
        child = getattr(field, "child", None)
        if message is None and isinstance(value, list) and child is not None:
            message = next(filter(None, (_type_error(child, item) for item in value)), None)
        where = None if message else unstorable(value, name)
        if where:
            message = f"{UNSTORABLE} (at {where})."
        if message:
            errors[name] = [message]
    if errors:
        raise serializers.ValidationError(errors)


class Serializer(serializers.Serializer):
    def to_internal_value(self, data: Any) -> Any:
        check_json_types(self.fields, data)
        return super().to_internal_value(data)


class ModelSerializer(serializers.ModelSerializer):
    def to_internal_value(self, data: Any) -> Any:
        check_json_types(self.fields, data)
        return super().to_internal_value(data)
