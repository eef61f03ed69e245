from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.models import ApiToken


class ReadOnlyTokenPermission(BasePermission):
    """A read-only token may only read (GET, HEAD, OPTIONS); it may still revoke itself, since
    the logout endpoint sets its own permissions."""

    message = (
        "This API token is read-only: it may only send GET, HEAD and OPTIONS requests. "
        "Create a read-write token to change anything."
    )

    def has_permission(self, request, view):
        token = request.auth
        if isinstance(token, ApiToken) and token.read_only:
            return request.method in SAFE_METHODS
        return True
