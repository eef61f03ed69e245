"""API-wide behaviour: every error is JSON saying what is wrong and, where it can, which field."""

from functools import lru_cache

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from rest_framework.exceptions import NotFound, ParseError, ValidationError
from rest_framework.fields import get_error_detail
from rest_framework.pagination import PageNumberPagination
from rest_framework.views import exception_handler as drf_exception_handler

from tunerproject.parsers import body_too_large

# Error codes of a field that names something which does not exist among the caller's: a request
# whose every fault is one of these is a 404 (with the same body, naming the fields), as a URL
# naming an unknown object is. DRF's related fields use "does_not_exist"; our services "not_found".
NOT_FOUND_CODES = {"does_not_exist", "not_found"}


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        detail = get_error_detail(exc)  # keeps each message's code
        exc = ValidationError(detail if isinstance(detail, dict) else {"detail": detail})
    if isinstance(exc, RequestDataTooBig):
        exc = body_too_large()
    elif isinstance(exc, SuspiciousOperation):  # Django would answer with an HTML 400 page
        exc = ParseError(str(exc) or "Malformed request.")
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):
        response.data = {"detail": response.data}
    if isinstance(exc, ValidationError):
        codes = _codes(exc.get_codes())
        if codes and codes <= NOT_FOUND_CODES:
            response.status_code = 404
    return response


def _codes(codes):
    """Every error code in DRF's nested dicts and lists of codes."""
    if isinstance(codes, dict):
        return set().union(*(_codes(value) for value in codes.values()))
    if isinstance(codes, list):
        return set().union(*(_codes(value) for value in codes))
    return {codes}


def absolute_url(context, name, pk):
    """The URL named `name` for object `pk`, absolute when the serializer has a request (or a
    site root, see site_context).

    A list page builds several URLs per item: the path pattern is reversed once per name and the
    scheme and host once per request (kept in the serializer's context)."""
    path = _path_pattern(name).format(pk)
    if "_site_root" not in context:
        request = context.get("request")
        if request is None:
            return path
        context["_site_root"] = request.build_absolute_uri("/").rstrip("/")
    return context["_site_root"] + path


def site_context():
    """A serializer context for shapes sent away from a request (webhooks, emails): absolute
    URLs under SITE_URL."""
    return {"_site_root": settings.SITE_URL.rstrip("/")}


PK_MARKER = 918273645  # a number no real path contains


@lru_cache(maxsize=64)
def _path_pattern(name):
    return reverse(name, args=[PK_MARKER]).replace(str(PK_MARKER), "{}")


def query_params(serializer_class, request):
    """The request's query string validated by `serializer_class`: its validated data, or a
    400 naming each parameter at fault. A parameter given empty (`?status=`) is a mistake, not
    the parameter left out, unless the field allows blank text."""
    query = serializer_class(data=request.query_params)
    blank = {
        name: ["Give a value, or leave the parameter out."]
        for name, field in query.fields.items()
        if request.query_params.get(name, None) == "" and not getattr(field, "allow_blank", False)
    }
    if blank or not query.is_valid():
        raise ValidationError({**(query.errors if not blank else {}), **blank})
    return query.validated_data


class Pagination(PageNumberPagination):
    """DRF's page numbers, with `?page=` (empty) refused like any other page that is not a
    number, rather than read as the first page."""

    def get_page_number(self, request, paginator):
        if request.query_params.get(self.page_query_param, None) == "":
            raise NotFound("Invalid page: a page is a number from 1.")
        return super().get_page_number(request, paginator)
