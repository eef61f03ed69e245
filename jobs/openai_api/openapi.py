"""The OpenAPI 3.1 document of /openai/v1, served at /openai/v1/openapi.json: every operation,
what its request may hold as the views check it (jobs.openai_api.requests, auth.page_params),
what it answers and every error status it can answer. tests/jobs/openai_api/test_schema_fuzz.py
fuzzes the server against it, so the two are kept in step by the test suite."""

import functools
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from jobs.openai_api.errors import OpenAIError
from jobs.openai_api.openapi_objects import (
    RESPONSES,
    SCHEMAS,
    STRING,
    JsonSchema,
    event_stream,
    ref,
)
from jobs.openai_api.openapi_requests import (
    CHAT_REQUEST,
    COMPLETION_REQUEST,
    FILE_ID,
    JOB_ID,
    MODEL_ID,
    UPLOAD,
    fine_tune_request,
    json_body,
    paging,
    query,
)

DESCRIPTION = """\
The fine-tuning platform's objects in the shapes OpenAI's official clients read: an uploaded
file is one of your datasets, a fine-tuning job one of your jobs, a model a catalog model or one
of your fine-tuned models, answered by the platform's inference pool.

Authenticate with `Authorization: Bearer <token>`, a token from your profile page; a read-only
token may only read (every POST and DELETE answers 403). Every answer under /openai/v1 that is
not a success is `{"error": {"message", "type", "param", "code"}}`: a method an address does not
take is a 405, an address no operation answers a 404 (`code: unknown_url`), a server error a
500 (`type: server_error`). Errors a retry cannot fix carry `x-should-retry: false`; 429 and 503
carry `Retry-After` instead.
"""

# --- Operations ------------------------------------------------------------------------------

ERROR_REFS = {
    "400": "BadRequest",
    "401": "Unauthorized",
    "403": "Forbidden",
    "404": "NotFound",
    "409": "Conflict",
    "413": "TooLarge",
    "422": "InvalidFile",
    "429": "RateLimited",
    "503": "Unavailable",
}


def answer(schema: str, description: str = "OK") -> JsonSchema:
    return {"description": description, "content": {"application/json": {"schema": ref(schema)}}}


def operation(
    operation_id: str,
    summary: str,
    ok: JsonSchema,
    errors: str,
    *,
    parameters: list[JsonSchema] | None = None,
    body: JsonSchema | None = None,
) -> JsonSchema:
    """`errors`: the statuses besides 401 it can answer, such as "400 404"."""
    responses = {"200": ok}
    for status in ["401", *errors.split()]:
        responses[status] = {"$ref": f"#/components/responses/{ERROR_REFS[status]}"}
    spec: JsonSchema = {"operationId": operation_id, "summary": summary, "responses": responses}
    if parameters:
        spec["parameters"] = parameters
    if body:
        spec["requestBody"] = body
    return spec


def files_paths() -> dict[str, JsonSchema]:
    content = {
        "description": "The file's bytes, as an attachment.",
        "headers": {"Content-Disposition": {"required": True, "schema": STRING}},
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
    listing = [
        *paging("file", default=100, maximum=10000),
        query("purpose", STRING, "Only `fine-tune` files exist: another purpose lists none."),
    ]
    return {
        "/files": {
            "get": operation(
                "listFiles", "Your files.", answer("FileList"), "400 404", parameters=listing
            ),
            "post": operation(
                "createFile",
                "Upload training data; it is validated before the answer.",
                answer("File"),
                "400 403 413 429",
                body=UPLOAD,
            ),
        },
        "/files/{file_id}": {
            "parameters": [FILE_ID],
            "get": operation("retrieveFile", "A file.", answer("File"), "404"),
            "delete": operation(
                "deleteFile", "Delete a file no job uses.", answer("DeletedFile"), "403 404 409"
            ),
        },
        "/files/{file_id}/content": {
            "parameters": [FILE_ID],
            "get": operation("downloadFile", "The file as uploaded.", content, "404"),
        },
    }


TRANSITIONS = {
    "cancel": "Cancel a queued, running or paused job.",
    "pause": "Pause a running job at a checkpoint (or a queued one before it starts).",
    "resume": "Queue a paused job to continue from its checkpoint.",
}


def fine_tuning_paths() -> dict[str, JsonSchema]:
    job = "/fine_tuning/jobs/{job_id}"
    metadata = {
        **query(
            "metadata",
            {"type": "object", "additionalProperties": STRING},
            "Only jobs whose metadata holds these values: metadata[key]=value.",
        ),
        "style": "deepObject",
        "explode": True,
    }
    found: dict[str, JsonSchema] = {
        "/fine_tuning/jobs": {
            "get": operation(
                "listFineTuningJobs",
                "Your jobs.",
                answer("FineTuningJobList"),
                "400 404",
                parameters=[*paging("job", default=20, maximum=100), metadata],
            ),
            "post": operation(
                "createFineTuningJob",
                "Launch a fine-tuning job.",
                answer("FineTuningJob"),
                "400 403 404 413 422 429",
                body=json_body(fine_tune_request()),
            ),
        },
        job: {
            "parameters": [JOB_ID],
            "get": operation("retrieveFineTuningJob", "A job.", answer("FineTuningJob"), "404"),
        },
    }
    for name, summary in TRANSITIONS.items():
        found[f"{job}/{name}"] = {
            "parameters": [JOB_ID],
            "post": operation(
                f"{name}FineTuningJob", summary, answer("FineTuningJob"), "403 404 409"
            ),
        }
    found[f"{job}/events"] = {
        "parameters": [JOB_ID],
        "get": operation(
            "listFineTuningEvents",
            "The job's log.",
            answer("FineTuningJobEventList"),
            "400 404",
            parameters=paging("event", default=20, maximum=100),
        ),
    }
    found[f"{job}/checkpoints"] = {
        "parameters": [JOB_ID],
        "get": operation(
            "listFineTuningJobCheckpoints",
            "The job's checkpoints.",
            answer("FineTuningJobCheckpointList"),
            "400 404",
            parameters=paging("checkpoint", default=10, maximum=100),
        ),
    }
    return found


def generation(
    operation_id: str, summary: str, request: JsonSchema, whole: str, kind: str, prefix: str
) -> JsonSchema:
    """A completion or chat completion: JSON, or server-sent events with `stream: true`."""
    ok = {
        "description": "The answer; with `stream: true`, server-sent events, each `data: <chunk "
        "as JSON>`, the last one `data: [DONE]`.",
        "content": {
            "application/json": {"schema": ref(whole)},
            "text/event-stream": {"schema": event_stream(f"{whole}Chunk", kind, prefix)},
        },
    }
    return operation(operation_id, summary, ok, "400 403 404 413 429 503", body=json_body(request))


def model_paths() -> dict[str, JsonSchema]:
    return {
        "/models": {
            "get": operation("listModels", "The models you may call.", answer("ModelList"), "")
        },
        "/models/{model_id}": {
            "parameters": [MODEL_ID],
            "get": operation("retrieveModel", "A model.", answer("Model"), "404"),
        },
        "/completions": {
            "post": generation(
                "createCompletion",
                "Continue a prompt.",
                COMPLETION_REQUEST,
                "Completion",
                "text_completion",
                "cmpl",
            )
        },
        "/chat/completions": {
            "post": generation(
                "createChatCompletion",
                "Answer a conversation.",
                CHAT_REQUEST,
                "ChatCompletion",
                "chat.completion.chunk",
                "chatcmpl",
            )
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapiDocument",
                "summary": "This document; no token needed.",
                "security": [],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "content": {
                            "application/json": {
                                "schema": {"type": "object", "required": ["openapi", "paths"]}
                            }
                        },
                    }
                },
            }
        },
    }


@functools.cache
def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "LLM Tuner OpenAI-compatible API",
            "version": "1",
            "description": DESCRIPTION,
        },
        "servers": [{"url": "/openai/v1"}],
        "security": [{"bearer": []}],
        "paths": {**files_paths(), **fine_tuning_paths(), **model_paths()},
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token from your profile page.",
                }
            },
            "schemas": SCHEMAS,
            "responses": RESPONSES,
        },
    }


@csrf_exempt  # any other method gets the OpenAI-shaped 405, not a CSRF page
def openapi_json(request: HttpRequest) -> JsonResponse:
    """The document; public, like /api/v1/schema/."""
    if request.method not in ("GET", "HEAD"):
        return OpenAIError(f"{request.method} is not allowed here; use GET.", status=405).response()
    return JsonResponse(document())
