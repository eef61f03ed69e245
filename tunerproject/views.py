import logging

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, connection
from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static
from django.urls import is_valid_path
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request):
    """200 when the database answers a query, 503 when it does not. Open to load balancers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        # The reason (host, user, server message) goes to the log, not to anonymous callers.
        logger.exception("healthz: the database does not answer")
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@csrf_exempt  # an API client's POST carries a token, not a CSRF cookie: it gets the 404 too
def api_not_found(request, unmatched=""):
    """Any /api/v1/ address that no endpoint answers: JSON like the endpoints' own 404s, not
    Django's HTML page. A missing trailing slash is named, since the endpoints all end in one."""
    detail = "Not found."
    with_slash = is_valid_path(request.path_info + "/")
    if not request.path_info.endswith("/") and with_slash and with_slash.func is not api_not_found:
        detail = f"Not found. Did you mean {request.path_info}/ (with a trailing slash)?"
    return JsonResponse({"detail": detail}, status=404)


# Django's own error pages, for errors raised before or outside DRF (a malformed request line,
# a body over DATA_UPLOAD_MAX_MEMORY_SIZE read by middleware, a bug): JSON under /api/, the
# usual HTML pages elsewhere.


def _is_api(request):
    return request.path_info.startswith("/api/")


def _is_openai(request):
    return request.path_info.startswith("/openai/")


def _openai_error(message, status, kind="invalid_request_error", code=None):
    """OpenAI's error shape (jobs/openai_api/errors.py builds it for the endpoints; these are
    the answers Django gives before or outside them). A retry cannot fix a 4xx."""
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    response = JsonResponse(body, status=status)
    if status < 500:
        response["x-should-retry"] = "false"
    return response


def bad_request(request, exception):
    if _is_openai(request):
        if isinstance(exception, RequestDataTooBig):
            return _openai_error("The request body is too large.", 413, code="body_too_large")
        return _openai_error("Malformed request.", 400)
    if _is_api(request):
        if isinstance(exception, RequestDataTooBig):
            return JsonResponse({"detail": "The request body is too large."}, status=413)
        return JsonResponse({"detail": "Malformed request."}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    if _is_openai(request):
        return _openai_error("You may not do this.", 403, "permission_error")
    if _is_api(request):
        return JsonResponse({"detail": "You do not have permission to do this."}, status=403)
    return defaults.permission_denied(request, exception)


def server_error(request):
    if _is_openai(request):
        return _openai_error("Server error; it has been logged.", 500, "server_error")
    if _is_api(request):
        return JsonResponse({"detail": "Server error; it has been logged."}, status=500)
    return defaults.server_error(request)


def favicon(request):
    """Browsers ask for /favicon.ico whatever the page links: send them to the icon."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))
