"""Filters for the logging configuration (settings.LOGGING)."""

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """An answer in the 4xx range (a 403 "Permission denied", a 404) is about the request, not
    a fault of ours: Django logs it with the exception's traceback attached, which buries the
    one line worth reading. Keep the line, drop the traceback; 5xx answers keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
