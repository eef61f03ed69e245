"""One signed HTTP POST to a webhook endpoint, per the Standard Webhooks specification, that
refuses private addresses and bounds what it reads and how long it waits.

Django-free: the caller passes the settings it needs.

The address is resolved once, checked, and connected to as checked (the Host header and TLS
name stay the URL's), so a name that resolves to a public address when checked cannot send the
request to a private one a moment later. Redirects are not followed: a 3xx is an answer.
"""

import base64
import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

EXCERPT_CHARS = 1000
USER_AGENT = "LLM-Tuner-Webhooks/1"


class RefusedTarget(ValueError):
    """The URL may not be called: its scheme, or an address it resolves to."""


@dataclass
class Outcome:
    status: int | None  # the HTTP status, None when there was no answer
    excerpt: str  # the start of the response body
    error: str  # why there was no answer (or the answer is not a success)
    duration_ms: int

    @property
    def ok(self):
        return self.status is not None and 200 <= self.status < 300


def sign(secret, msg_id, timestamp, body):
    """`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` with the base64-decoded part of
    a `whsec_` secret as the key."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def check_url(url, *, allow_private):
    """The URL's (scheme, host, port, address to connect to), or RefusedTarget saying why."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # an unclosed [ of an IPv6 host, a port that is not 0-65535
        raise RefusedTarget(f"{url!r} is not a valid URL: {exc}.") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedTarget("A webhook URL must start with http:// or https:// and name a host.")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise RefusedTarget(f"The host {parts.hostname} could not be resolved ({exc}).") from exc
    addresses = [info[4][0] for info in infos]
    if not allow_private:
        for address in addresses:
            why = address_refusal(address)
            if why:
                raise RefusedTarget(
                    f"{parts.hostname} resolves to {address}, {why}: webhooks are only sent "
                    "to public addresses."
                )
    return parts.scheme, parts.hostname, port, addresses[0]


# IPv6 forms that carry an IPv4 address in their last 32 bits: where it is private, so is the
# target (a NAT64 gateway or an IPv4-compatible route would deliver to it).
NAT64 = ipaddress.ip_network("64:ff9b::/96")
LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: a site's own translators
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def address_refusal(text):
    """Why a webhook may not be sent to this address ("a private address", ...), or "" when it
    is global unicast. IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4)
    are judged by the IPv4 address they carry."""
    address = ipaddress.ip_address(text.split("%")[0])
    if address.is_multicast:
        return "a multicast address"
    if address.version == 6:
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            why = address_refusal(str(embedded))
            return f"which carries {embedded}, {why}" if why else ""
        if address in LOCAL_NAT64:
            return "a local-use NAT64 address"
    if not address.is_global:
        return "a private, loopback or link-local address"
    return ""


def _embedded_ipv4(address):
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64 or (address in IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def post(url, body, headers, *, allow_private, timeout_s, max_bytes):
    """POST `body` (bytes) and return an Outcome; never raises for network trouble."""
    started = time.monotonic()
    try:
        scheme, host, port, address = check_url(url, allow_private=allow_private)
        connection = _connection(scheme, host, port, address, timeout_s)
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("POST", path, body=body, headers=_headers(headers, host, port))
            response = connection.getresponse()
            data = _read_capped(response, connection.sock, max_bytes, started + timeout_s)
        finally:
            connection.close()
    except RefusedTarget as exc:
        return Outcome(None, "", str(exc), _ms(started))
    except TimeoutError:
        return Outcome(None, "", f"No answer within {timeout_s} s.", _ms(started))
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(None, "", f"{type(exc).__name__}: {exc}"[:500], _ms(started))
    excerpt = data.decode("utf-8", errors="replace")[:EXCERPT_CHARS]
    error = "" if 200 <= response.status < 300 else f"The endpoint answered {response.status}."
    return Outcome(response.status, excerpt, error, _ms(started))


def _headers(headers, host, port):
    default_port = port in (80, 443)
    return {
        "Host": host if default_port else f"{host}:{port}",
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **headers,
    }


def _connection(scheme, host, port, address, timeout_s):
    if scheme == "https":
        return _PinnedHTTPS(host, port, address=address, timeout=timeout_s)
    return _PinnedHTTP(host, port, address=address, timeout=timeout_s)


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the address that was checked, not to whatever the name resolves to now."""

    def __init__(self, host, port, *, address, **kwargs):
        super().__init__(host, port, **kwargs)
        self.address = address

    def connect(self):
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host, port, *, address, **kwargs):
        super().__init__(host, port, context=ssl.create_default_context(), **kwargs)
        self.address = address

    def connect(self):
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _read_capped(response, sock, max_bytes, deadline):
    """At most `max_bytes` of the body, and nothing after the deadline: a slow or endless answer
    costs at most the timeout."""
    chunks, size = [], 0
    while size < max_bytes:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        if sock is not None:
            sock.settimeout(left)
        chunk = response.read1(min(8192, max_bytes - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _ms(started):
    return round((time.monotonic() - started) * 1000)
