"""The requests of the OpenAPI document (jobs.openai_api.openapi): parameters and bodies with
the constraints the views enforce (jobs.openai_api.requests, auth.page_params). Hyperparameter
ranges come from the serializer that checks them (jobs.planning.hyperparameters)."""

from rest_framework import serializers

from jobs.engine.constants import LORA_HYPERPARAMETERS
from jobs.openai_api.openapi_objects import NULL, STRING, JsonSchema, const, nullable
from jobs.openai_api.requests import METADATA_KEY, SEED_MAX, SUFFIX
from jobs.planning.hyperparameters import HyperparametersSerializer


def path_parameter(name: str, description: str) -> JsonSchema:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": STRING,
    }


def query(name: str, schema: JsonSchema, description: str) -> JsonSchema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def paging(what: str, *, default: int, maximum: int) -> list[JsonSchema]:
    return [
        query("after", STRING, f"The id of the last {what} of the previous page."),
        query(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": maximum, "default": default},
            f"How many {what}s a page holds.",
        ),
    ]


FILE_ID = path_parameter("file_id", "`file-<id>`: one of your files.")
JOB_ID = path_parameter("job_id", "`ftjob-<id>`: one of your fine-tuning jobs.")
MODEL_ID = path_parameter("model_id", "A model's id as GET /models lists it.")


UPLOAD = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file", "purpose"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "Its filename's extension says the format: .txt, .csv, "
                        ".json or .jsonl (see Data formats).",
                    },
                    "purpose": const("fine-tune"),
                },
            },
            "encoding": {
                "file": {
                    "headers": {
                        "Content-Disposition": {
                            "schema": STRING,
                            "example": 'form-data; name="file"; filename="train.jsonl"',
                        }
                    }
                }
            },
        }
    },
}


def json_body(schema: JsonSchema) -> JsonSchema:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _typed(field: serializers.Field) -> JsonSchema:
    """A hyperparameter's JSON Schema from the serializer that checks it (jobs.planning)."""
    if isinstance(field, serializers.ChoiceField):
        return {"enum": list(field.choices)}
    schema: JsonSchema = {
        "type": "integer" if isinstance(field, serializers.IntegerField) else "number"
    }
    for keyword, attribute in (("minimum", "min_value"), ("maximum", "max_value")):
        if getattr(field, attribute, None) is not None:
            schema[keyword] = getattr(field, attribute)
    return schema


def hyperparameters() -> JsonSchema:
    """OpenAI's three names and the platform's own, each a value, "auto" or null (auto). Jobs
    launched here fine-tune every weight: LoRA's hyperparameters are refused."""
    fields = HyperparametersSerializer().fields.items()
    typed = {name: _typed(f) for name, f in fields if name not in LORA_HYPERPARAMETERS}
    typed["n_epochs"] = typed["epochs"]
    typed["learning_rate_multiplier"] = {"type": "number", "exclusiveMinimum": 0}
    return {
        "type": "object",
        "description": 'Left out, null or "auto": chosen by auto-configuration. '
        "learning_rate_multiplier scales the learning rate auto-configuration picks.",
        "properties": {name: {"anyOf": [const("auto"), NULL, s]} for name, s in typed.items()},
        "additionalProperties": False,
    }


def fine_tune_request() -> JsonSchema:
    fields: dict[str, JsonSchema] = {
        "model": {
            "type": "string",
            "minLength": 1,
            "description": "A catalog key (GET /models) or a fine-tuned model to continue from.",
        },
        "training_file": {"type": "string", "minLength": 1, "description": "`file-<id>`."},
        "validation_file": nullable(STRING),
        "suffix": nullable({"type": "string", "pattern": f"^$|{SUFFIX.pattern}"}),
        "seed": nullable({"type": "integer", "minimum": 0, "maximum": 2**31 - 1}),
        "metadata": nullable(
            {
                "type": "object",
                "maxProperties": 16,
                "propertyNames": {"pattern": METADATA_KEY.pattern},
                "additionalProperties": {"type": "string", "maxLength": 512},
            }
        ),
        "hyperparameters": nullable(hyperparameters()),
        "method": nullable(
            {
                "type": "object",
                "description": "Takes precedence over a top-level `hyperparameters`.",
                "properties": {
                    "type": const("supervised"),
                    "supervised": nullable(
                        {
                            "type": "object",
                            "properties": {"hyperparameters": nullable(hyperparameters())},
                        }
                    ),
                },
            }
        ),
        "integrations": {"type": ["array", "null"], "maxItems": 0},
    }
    return {"type": "object", "required": ["model", "training_file"], "properties": fields}


SAMPLING: dict[str, JsonSchema] = {
    "model": {"type": "string", "minLength": 1, "description": "A model GET /models lists."},
    "max_tokens": nullable({"type": "integer", "minimum": 1, "maximum": 4096, "default": 16}),
    "max_completion_tokens": nullable({"type": "integer", "minimum": 1, "maximum": 4096}),
    "temperature": nullable({"type": "number", "minimum": 0, "maximum": 2, "default": 1}),
    "top_p": nullable({"type": "number", "minimum": 0.01, "maximum": 1, "default": 1}),
    "n": nullable({"type": "integer", "minimum": 1, "maximum": 8, "default": 1}),
    "stop": {
        "anyOf": [
            {"type": "string", "minLength": 1},
            {"type": "array", "maxItems": 4, "items": {"type": "string", "minLength": 1}},
            NULL,
        ]
    },
    "seed": nullable({"type": "integer", "minimum": 0, "maximum": SEED_MAX}),
    "stream": nullable({"type": "boolean", "default": False}),
    "stream_options": nullable(
        {"type": "object", "properties": {"include_usage": {"type": "boolean"}}}
    ),
}
TEXT_PART = {
    "type": "object",
    "required": ["type", "text"],
    "properties": {"type": const("text"), "text": STRING},
}
MESSAGE = {
    "type": "object",
    "required": ["role", "content"],
    "properties": {
        "role": {"enum": ["system", "developer", "user", "assistant"]},
        "content": {
            "anyOf": [
                STRING,
                {
                    "type": "array",
                    "description": "Content parts: the text parts, joined; others are ignored.",
                    "items": {"type": "object"},
                    "contains": TEXT_PART,
                },
            ]
        },
    },
}
COMPLETION_REQUEST = {
    "type": "object",
    "required": ["model"],
    "properties": {
        **SAMPLING,
        "prompt": {
            "anyOf": [STRING, {"type": "array", "items": STRING, "minItems": 1, "maxItems": 1}],
            "default": "",
            "description": "One prompt per request.",
        },
    },
}
CHAT_REQUEST = {
    "type": "object",
    "required": ["model", "messages"],
    "properties": {**SAMPLING, "messages": {"type": "array", "minItems": 1, "items": MESSAGE}},
}
