"""The objects of the OpenAPI document (jobs.openai_api.openapi): what this server answers with,
field by field, as jobs.openai_api.shaping and inference build it, and the error answers.

Every field of an object is always present (null where it has no value), so each object
requires all of its properties.
"""

from typing import Any

from jobs.openai_api.errors import TYPES
from jobs.openai_api.shaping import LEVELS, STATUSES

JsonSchema = dict[str, Any]

INTEGER: JsonSchema = {"type": "integer"}
NUMBER: JsonSchema = {"type": "number"}
STRING: JsonSchema = {"type": "string"}
NULL: JsonSchema = {"type": "null"}
TIME: JsonSchema = {"type": "integer", "description": "Unix time, in seconds."}
FINISH_REASON: JsonSchema = {
    "enum": ["stop", "length"],
    "description": "`stop`: the end of text or a stop string; `length`: max_tokens was reached.",
}


def ref(name: str) -> JsonSchema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: JsonSchema) -> JsonSchema:
    return {"anyOf": [schema, NULL]}


def const(value: str) -> JsonSchema:
    return {"type": "string", "const": value}


def ident(prefix: str) -> JsonSchema:
    return {"type": "string", "pattern": f"^{prefix}-[0-9]+$"}


def record(description: str = "", **properties: JsonSchema) -> JsonSchema:
    """An object that always carries every one of `properties`."""
    schema: JsonSchema = {
        "type": "object",
        "required": list(properties),
        "properties": properties,
    }
    if description:
        schema["description"] = description
    return schema


def listing(item: str) -> JsonSchema:
    return record(
        "A page of objects, newest first; pass `last_id` as `after` for the next page.",
        object=const("list"),
        data={"type": "array", "items": ref(item)},
        has_more={"type": "boolean"},
        first_id=nullable(STRING),
        last_id=nullable(STRING),
    )


HYPERPARAMETERS_USED = record(
    "The values the job trains with, once auto-configuration has chosen what was left out.",
    n_epochs=nullable(INTEGER),
    batch_size=nullable(INTEGER),
    learning_rate_multiplier=NUMBER,
)

USAGE = record(
    "Exact token counts (GPT-2 tokens).",
    prompt_tokens=INTEGER,
    completion_tokens=INTEGER,
    total_tokens=INTEGER,
)

ERROR = record(
    "Every error under /openai/v1, whatever its status.",
    error=record(
        message=STRING,
        type={"enum": sorted(set(TYPES.values()))},
        param=nullable(STRING),
        code=nullable(STRING),
    ),
)

SCHEMAS: dict[str, JsonSchema] = {
    "Error": ERROR,
    "File": record(
        "An uploaded training file: one of the user's datasets, validated row by row at upload.",
        id=ident("file"),
        object=const("file"),
        bytes=INTEGER,
        created_at=TIME,
        expires_at=NULL,
        filename=STRING,
        purpose=const("fine-tune"),
        status={
            "enum": ["uploaded", "processed", "error"],
            "description": "`error`: the file failed validation; `status_details` says where.",
        },
        status_details=nullable(STRING),
    ),
    "FileList": listing("File"),
    "DeletedFile": record(id=STRING, object=const("file"), deleted={"const": True}),
    "FineTuningJob": record(
        "One of the user's jobs.",
        id=ident("ftjob"),
        object=const("fine_tuning.job"),
        created_at=TIME,
        finished_at=nullable(TIME),
        model={"type": "string", "description": "The catalog key or job-<id> it starts from."},
        fine_tuned_model=nullable(
            {"type": "string", "description": "ft:<base>:<suffix or username>:ftjob-<id>"}
        ),
        organization_id=STRING,
        status={"enum": sorted(set(STATUSES.values()))},
        hyperparameters=HYPERPARAMETERS_USED,
        training_file=ident("file"),
        validation_file=nullable(ident("file")),
        result_files={"type": "array", "maxItems": 0},
        trained_tokens=nullable(INTEGER),
        error=nullable(record(code=STRING, message=STRING, param=NULL)),
        seed=INTEGER,
        estimated_finish=nullable(TIME),
        metadata=nullable({"type": "object", "additionalProperties": STRING}),
        user_provided_suffix=nullable(STRING),
        method=record(
            type=const("supervised"),
            supervised=record(hyperparameters=HYPERPARAMETERS_USED),
        ),
        integrations={"type": "array", "maxItems": 0},
    ),
    "FineTuningJobList": listing("FineTuningJob"),
    "FineTuningJobEvent": record(
        "A line of the job's log; an evaluation is `type: metrics` with its figures in `data`.",
        id=ident("ftevent"),
        object=const("fine_tuning.job.event"),
        created_at=TIME,
        level={"enum": sorted(set(LEVELS.values()))},
        message=STRING,
        type={"enum": ["message", "metrics"]},
        data=nullable({"type": "object"}),
    ),
    "FineTuningJobEventList": listing("FineTuningJobEvent"),
    "FineTuningJobCheckpoint": record(
        "A checkpoint the job saved; token accuracies are null until training records them.",
        id=ident("ftckpt"),
        object=const("fine_tuning.job.checkpoint"),
        created_at=TIME,
        fine_tuning_job_id=ident("ftjob"),
        fine_tuned_model_checkpoint=STRING,
        step_number=INTEGER,
        metrics=record(
            step=INTEGER,
            train_loss=nullable(NUMBER),
            valid_loss=nullable(NUMBER),
            train_mean_token_accuracy=NULL,
            valid_mean_token_accuracy=NULL,
            full_valid_loss=NULL,
            full_valid_mean_token_accuracy=NULL,
        ),
    ),
    "FineTuningJobCheckpointList": listing("FineTuningJobCheckpoint"),
    "Model": record(
        "A catalog model this server can run, or one of the user's fine-tuned models.",
        id=STRING,
        object=const("model"),
        created=TIME,
        owned_by=STRING,
    ),
    "ModelList": listing("Model"),
    "Usage": USAGE,
    "Completion": record(
        id={"type": "string", "pattern": "^cmpl-"},
        object=const("text_completion"),
        created=TIME,
        model=STRING,
        choices={
            "type": "array",
            "items": record(index=INTEGER, text=STRING, finish_reason=FINISH_REASON, logprobs=NULL),
        },
        usage=ref("Usage"),
    ),
    "ChatCompletion": record(
        id={"type": "string", "pattern": "^chatcmpl-"},
        object=const("chat.completion"),
        created=TIME,
        model=STRING,
        choices={
            "type": "array",
            "items": record(
                index=INTEGER,
                message=record(role=const("assistant"), content=STRING, refusal=NULL),
                finish_reason=FINISH_REASON,
                logprobs=NULL,
            ),
        },
        usage=ref("Usage"),
    ),
    # One `data:` event of a stream: a chunk, the closing usage chunk, or an error that broke
    # off the generation (the stream still ends with `data: [DONE]`).
    "CompletionChunk": record(
        id={"type": "string", "pattern": "^cmpl-"},
        object=const("text_completion"),
        created=TIME,
        model=STRING,
        choices={
            "type": "array",
            "items": record(
                index=INTEGER, text=STRING, logprobs=NULL, finish_reason=nullable(FINISH_REASON)
            ),
        },
    ),
    "ChatCompletionChunk": record(
        id={"type": "string", "pattern": "^chatcmpl-"},
        object=const("chat.completion.chunk"),
        created=TIME,
        model=STRING,
        choices={
            "type": "array",
            "items": record(
                index=INTEGER,
                delta={
                    "type": "object",
                    "properties": {"role": const("assistant"), "content": STRING},
                    "additionalProperties": False,
                },
                finish_reason=nullable(FINISH_REASON),
                logprobs=NULL,
            ),
        },
    ),
}


def usage_chunk(kind: str, prefix: str) -> JsonSchema:
    """The last chunk before [DONE] when stream_options.include_usage is true."""
    return record(
        id={"type": "string", "pattern": f"^{prefix}-"},
        object=const(kind),
        created=TIME,
        model=STRING,
        choices={"type": "array", "maxItems": 0},
        usage=ref("Usage"),
    )


def event_stream(chunk: str, kind: str, prefix: str) -> JsonSchema:
    """One server-sent event of a streamed answer: `data:` holds a JSON chunk, the usage chunk
    or an error, and the last event's data is `[DONE]`."""
    payload = {"anyOf": [ref(chunk), usage_chunk(kind, prefix), ref("Error")]}
    return {
        "type": "object",
        "required": ["data"],
        "properties": {
            "data": {
                "type": "string",
                "if": {"const": "[DONE]"},
                "else": {"contentMediaType": "application/json", "contentSchema": payload},
            },
            "event": const("message"),
        },
    }


# --- Error answers ---------------------------------------------------------------------------

NO_RETRY: JsonSchema = {
    "description": "`false`: the official client must not retry; the same request fails again.",
    "required": True,
    "schema": {"type": "string", "const": "false"},
}
RETRY_AFTER: JsonSchema = {
    "description": "Seconds to wait before trying again.",
    "required": True,
    "schema": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?$"},
}


def error_answer(description: str, *, retry: bool = False) -> JsonSchema:
    headers = {"Retry-After": RETRY_AFTER} if retry else {"x-should-retry": NO_RETRY}
    return {
        "description": description,
        "headers": headers,
        "content": {"application/json": {"schema": ref("Error")}},
    }


RESPONSES: dict[str, JsonSchema] = {
    "BadRequest": error_answer(
        "A value is missing or wrong; `param` names it (dotted for nested fields, such as "
        "`hyperparameters.n_epochs` or `messages[0].role`)."
    ),
    "Unauthorized": error_answer(
        "No `Authorization: Bearer <token>` header, or a token that is unknown, revoked or "
        "expired (`code: invalid_api_key`)."
    ),
    "Forbidden": error_answer(
        "A read-only token asked to change something (`read_only_token`), or the object is "
        "shared with the caller without the right to change it (`permission_denied`)."
    ),
    "NotFound": error_answer(
        "No such object among those the caller may see (another user's objects included)."
    ),
    "Conflict": error_answer("The object's state does not allow this."),
    "TooLarge": error_answer(
        "The request body is over REQUEST_BODY_MAX_KB (`code: body_too_large`)."
    ),
    "RateLimited": error_answer(
        "An action's throttle was reached, or the inference pool is full "
        "(`code: rate_limit_exceeded`); try again after Retry-After seconds.",
        retry=True,
    ),
    "InvalidFile": error_answer("The training file failed validation (`code: invalid_file`)."),
    "Unavailable": error_answer(
        "No inference service answered (`code: inference_unavailable`); try again.", retry=True
    ),
}
