"""Security headers on every response the application itself produces (static files are
answered earlier, by WhiteNoise):

- Content-Security-Policy: scripts, styles, images and connections from this site only, no
  inline script or style attribute, no plugins, no framing. The interactive API docs (Swagger UI
  from the sidecar, split so its script is a file too) style themselves inline, so that one page
  also allows inline styles; its scripts stay as strict.
- Permissions-Policy: no camera, microphone, location and the like; nothing here uses them.
- Cache-Control: private, no-store on anything answered to a signed-in session or an API token
  (pages, JSON, downloads), so no shared cache or browser disk keeps a user's data.
"""

from django.urls import reverse

STRICT = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
DOCS = {**STRICT, "style-src": "'self' 'unsafe-inline'"}
PERMISSIONS = ", ".join(
    f"{feature}=()"
    for feature in [
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    ]
)


def _policy(directives):
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.strict = _policy(STRICT)
        self.docs = _policy(DOCS)

    def __call__(self, request):
        response = self.get_response(request)
        docs = request.path_info == reverse("api-docs")
        response.setdefault("Content-Security-Policy", self.docs if docs else self.strict)
        response.setdefault("Permissions-Policy", PERMISSIONS)
        if _is_private(request):
            response["Cache-Control"] = "private, no-store"
        return response


def _is_private(request):
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    return signed_in or "HTTP_AUTHORIZATION" in request.META
