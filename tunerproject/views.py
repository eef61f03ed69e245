import logging

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.urls import is_valid_path
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
