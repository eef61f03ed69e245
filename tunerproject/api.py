"""API-wide behaviour: every error is JSON saying what is wrong and, where it can, which field."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from rest_framework.exceptions import ValidationError
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        )
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):
        response.data = {"detail": response.data}
    return response


def absolute_url(context, name, pk):
    """The URL named `name` for object `pk`, absolute when the serializer has a request."""
    path = reverse(name, args=[pk])
    request = context.get("request")
    return request.build_absolute_uri(path) if request else path
