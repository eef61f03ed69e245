"""API-wide behaviour: every error is JSON saying what is wrong and, where it can, which field."""

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.views import exception_handler as drf_exception_handler

from tunerproject.parsers import BodyTooLarge


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        )
    if isinstance(exc, RequestDataTooBig):
        exc = BodyTooLarge(str(exc))
    elif isinstance(exc, SuspiciousOperation):  # Django would answer with an HTML 400 page
        exc = ParseError(str(exc) or "Malformed request.")
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):
        response.data = {"detail": response.data}
    return response


def absolute_url(context, name, pk):
    """The URL named `name` for object `pk`, absolute when the serializer has a request."""
    path = reverse(name, args=[pk])
    request = context.get("request")
    return request.build_absolute_uri(path) if request else path
