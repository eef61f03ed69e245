"""Bearer tokens (the platform's own API tokens) and the one decorator every view goes through.

`may_write(token)` is the single place that decides whether a token may change things: a
read-only token (ApiToken.read_only) may only read.
"""

import functools
import json
import logging
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, cast

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import AuthenticationFailed

from accounts.authentication import HashedTokenAuthentication
from accounts.models import ApiToken
from accounts.throttles import wait_seconds
from jobs.openai_api.errors import OpenAIError, from_validation, not_found
from tunerproject.ids import ID_MAX, parse_int
from tunerproject.parsers import UNSTORABLE, unstorable

logger = logging.getLogger(__name__)

READ_METHODS = ("GET", "HEAD", "OPTIONS")

_P = ParamSpec("_P")


class AuthenticatedRequest(HttpRequest):
    """What a view behind `endpoint` gets: an HttpRequest whose user the bearer token named."""

    user: User


def may_write(token: ApiToken) -> bool:
    return not token.read_only


def authenticate(request: HttpRequest) -> tuple[User, ApiToken]:
    """(user, token) from `Authorization: Bearer <token>`, or a 401 OpenAIError."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise OpenAIError(
            "Missing API key: send `Authorization: Bearer <token>` with a token from your "
            "profile page.",
            status=401,
            code="invalid_api_key",
        )
    try:
        return HashedTokenAuthentication().authenticate_credentials(key.strip())
    except AuthenticationFailed as exc:
        raise OpenAIError(str(exc.detail), status=401, code="invalid_api_key") from exc


def endpoint(
    *methods: str,
) -> Callable[
    [Callable[Concatenate[AuthenticatedRequest, _P], HttpResponseBase]],
    Callable[Concatenate[HttpRequest, _P], HttpResponseBase],
]:
    """A view of this API: only `methods`; authenticated; writes refused to read-only tokens;
    every error in OpenAI's shape (ValidationError 400, PermissionDenied 403, Http404 404)."""

    def wrap(
        view: Callable[Concatenate[AuthenticatedRequest, _P], HttpResponseBase],
    ) -> Callable[Concatenate[HttpRequest, _P], HttpResponseBase]:
        @csrf_exempt
        @functools.wraps(view)
        def handle(request: HttpRequest, *args: _P.args, **kwargs: _P.kwargs) -> HttpResponseBase:
            try:
                if request.method not in methods:
                    raise OpenAIError(
                        f"{request.method} is not allowed here; use {' or '.join(methods)}.",
                        status=405,
                    )
                request.user, token = authenticate(request)
                if request.method not in READ_METHODS and not may_write(token):
                    raise OpenAIError(
                        "This token is read-only: it may not change anything.",
                        status=403,
                        code="read_only_token",
                    )
                # The user is set: what the view gets is an AuthenticatedRequest.
                return view(cast(AuthenticatedRequest, request), *args, **kwargs)
            except OpenAIError as exc:
                return exc.response()
            except ValidationError as exc:
                return from_validation(exc).response()
            except Http404:
                return OpenAIError("Not found.", status=404, code="not_found").response()
            except PermissionDenied as exc:  # jobs.sharing.access: seen, but not theirs to change
                return OpenAIError(
                    str(exc) or "You may not change this.", status=403, code="permission_denied"
                ).response()

        return handle

    return wrap


def throttle(request: HttpRequest, action: str) -> None:
    """Count the request against `action`'s rates (accounts.throttles: the same counts as the
    REST API and the portal); a 429 with Retry-After once over them."""
    wait = wait_seconds(request, action)
    if wait is not None:
        raise OpenAIError(
            f"Rate limit reached for {action}: try again in {wait} s.",
            status=429,
            code="rate_limit_exceeded",
            retry_after=wait,
        )


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object, or a 400 saying what is wrong with it."""
    try:
        body = json.loads(request.body or b"{}")
    except RecursionError:
        raise OpenAIError("The body is not valid JSON: it is nested too deeply.") from None
    except ValueError as exc:
        raise OpenAIError(f"The body is not valid JSON: {exc}.") from exc
    if not isinstance(body, dict):
        raise OpenAIError("The body must be a JSON object.")
    where = unstorable(body)
    if where is not None:
        raise OpenAIError(f"{UNSTORABLE} (at {where}).", param=where)
    return body


def page_params(
    request: HttpRequest, *, default: int = 20, maximum: int = 100
) -> tuple[str | None, int]:
    """(after, limit) of a cursor-paginated list, checked."""
    raw = request.GET.get("limit", str(default))
    try:
        limit = int(raw)
    except ValueError:
        raise OpenAIError(f"limit must be a whole number, not {raw!r}.", param="limit") from None
    if not 1 <= limit <= maximum:
        raise OpenAIError(f"limit must be between 1 and {maximum}.", param="limit")
    return request.GET.get("after") or None, limit


def parse_id(ident: str, prefix: str, what: str, param: str | None = None) -> int:
    """The primary key inside an id like `file-12`; 404 for anything else."""

    number = parse_int(ident[len(prefix) :] if ident and ident.startswith(prefix) else "")
    # parse_int takes ASCII digits only: "ftjob-٢" is not a second spelling of ftjob-2.
    if number is None or not 0 < number <= ID_MAX:
        raise not_found(what, ident, param)
    return number
