"""Errors in OpenAI's shape: {"error": {"message", "type", "param", "code"}}.

The official client retries 408, 409, 429 and 5xx unless the response says
`x-should-retry: false`; every error here that a retry cannot fix says so.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    409: "conflict_error",
    422: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    503: "server_error",
}


class OpenAIError(Exception):
    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        param: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message, self.status, self.param, self.code = message, status, param, code
        self.retry_after = retry_after

    def response(self) -> JsonResponse:
        body = {
            "error": {
                "message": self.message,
                "type": TYPES.get(self.status, "invalid_request_error"),
                "param": self.param,
                "code": self.code,
            }
        }
        response = JsonResponse(body, status=self.status)
        if self.retry_after is not None:
            response["Retry-After"] = str(self.retry_after)
        else:
            response["x-should-retry"] = "false"
        return response


@csrf_exempt  # a client's POST carries a Bearer token, not a CSRF cookie: it gets the 404 too
def unknown_path(request: HttpRequest, unmatched: str = "") -> JsonResponse:
    """Any /openai/v1/ address no endpoint answers."""
    message = f"Unknown request URL: {request.method} {request.path}."
    return OpenAIError(message, status=404, code="unknown_url").response()


def not_found(what: str, ident: str, param: str | None = None) -> OpenAIError:
    return OpenAIError(
        f"No {what} with id {ident!r}.", status=404, param=param, code=f"{what}_not_found"
    )


# The platform's field names where a client's differ, so `param` names what the client sent.
PARAMS = {
    "dataset": "training_file",
    "validation_dataset": "validation_file",
    "base_model": "model",
    "hyperparameters.epochs": "hyperparameters.n_epochs",
}


def from_validation(exc: ValidationError, *, status: int = 400) -> OpenAIError:
    """The first message of a Django ValidationError, with the field it names as `param`."""
    if hasattr(exc, "error_dict"):
        field, errors = next(iter(exc.error_dict.items()))
        message = " ".join(m for e in errors for m in e.messages)
        param = PARAMS.get(field, None if field == "__all__" else field)
        return OpenAIError(message, status=status, param=param)
    return OpenAIError(" ".join(exc.messages), status=status)


def from_serializer(errors: dict[str, Any], prefix: str = "") -> OpenAIError:
    """The first error of a DRF serializer's errors, with its dotted field path as `param`."""
    field, messages = next(iter(errors.items()))
    path = f"{prefix}{field}"
    while isinstance(messages, dict):
        inner, messages = next(iter(messages.items()))
        path = f"{path}.{inner}"
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        return from_serializer(messages[0], prefix=f"{path}.")
    text = " ".join(str(m) for m in messages) if isinstance(messages, list) else str(messages)
    return OpenAIError(text, status=400, param=None if field == "non_field_errors" else path)
