"""Mail a request causes goes out after its response has been sent.

Sign-up, password reset and invitations answer the same whether or not an account exists, and
mail the difference. Sending on the request path would show it anyway: an SMTP exchange takes
tens to hundreds of milliseconds, so a taken address would answer faster or slower than a new one.
The messages are therefore kept with the request and sent when Django says the request has
finished (`request_finished`: the WSGI server calls it after writing the last byte, the ASGI
handler after sending the response). A message that fails is logged; the answer already went.

The pending messages live in a context variable: one request's mail never goes out with
another's, under threads (WSGI) or tasks (ASGI) alike."""

import logging
from contextvars import ContextVar

from django.core.mail import EmailMessage
from django.core.signals import request_finished
from django.dispatch import receiver

logger = logging.getLogger(__name__)

_pending: ContextVar[list[EmailMessage] | None] = ContextVar("mail_after_response", default=None)


def send_after_response(subject: str, body: str, to: str) -> None:
    """Keep one plain-text message (from DEFAULT_FROM_EMAIL) until the current request ends.
    Call it from a request only; `send_pending` sends what a request left."""
    pending = _pending.get()
    if pending is None:
        pending = []
        _pending.set(pending)
    pending.append(EmailMessage(subject, body, None, [to]))


def pending_count() -> int:
    """How many messages wait for the end of the current request."""
    return len(_pending.get() or [])


@receiver(request_finished, dispatch_uid="tunerproject.mail.send_pending")
def send_pending(**kwargs: object) -> int:
    """Send the messages the request kept; how many went. A failure is logged, never raised:
    the client has its answer, and the other messages still go."""
    pending = _pending.get()
    if not pending:
        return 0
    _pending.set(None)
    sent = 0
    for message in pending:
        try:
            sent += message.send()
        except Exception:
            logger.exception("Could not send the mail %r to %s", message.subject, message.to)
    return sent
