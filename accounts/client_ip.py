"""The client's IP address, as the lock-out, throttles and audit log see it."""

import ipaddress

from django.conf import settings


def client_ip(request):
    if request is None:
        return None
    # Behind a trusted proxy the client is the last hop of X-Forwarded-For: the proxy appends
    # the address it saw, and anything before it is whatever the client chose to send.
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.split(",")[-1].strip()
        if _is_address(last):
            return last
    return request.META.get("REMOTE_ADDR")


def _is_address(text):
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
