"""/models, /completions and /chat/completions: the user's base and fine-tuned models answered
by the inference pool (jobs.playground.client), streamed as server-sent events on request."""

import json
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from django.contrib.auth.models import User
from django.http import JsonResponse, StreamingHttpResponse

from jobs.catalog.services import availability
from jobs.datasets.reader import generation_prompt
from jobs.datasets.segments import ROLE_HEADERS
from jobs.models import BaseModel, Job
from jobs.openai_api.auth import AuthenticatedRequest, endpoint, json_body, throttle
from jobs.openai_api.errors import OpenAIError
from jobs.openai_api.requests import chat_messages, completion_prompt, model_key, sampling_request
from jobs.openai_api.shaping import listing, model_name, model_object
from jobs.playground import client, generation
from tunerproject.ids import ID_MAX

# A chat model learned turns as "Role: content" lines: a new header means its turn is over.
CHAT_STOPS = ["\nUser:", "\nSystem:"]


def _model_not_found(name: str, reason: str | None = None) -> OpenAIError:
    message = reason or f"The model {name!r} does not exist or you do not have access to it."
    return OpenAIError(message, status=404, param="model", code="model_not_found")


def resolve_model(user: User, name: str) -> tuple[dict[str, Any], str | None]:
    """(spec for the pool, kind of data it was trained on or None for a base model)."""
    key = model_key(name)
    if key.startswith("job-"):
        digits = key.removeprefix("job-")
        # ASCII digits only: "²".isdigit() is true but int() refuses it.
        pk = int(digits) if digits.isascii() and digits.isdigit() else 0
        job = Job.objects.visible_to(user).filter(pk=pk).first() if 0 < pk <= ID_MAX else None
        if job is None:
            raise _model_not_found(name)
        if not job.has_model():
            raise _model_not_found(name, job.no_model_reason())
        return generation.job_spec(job), job.dataset.kind
    row = BaseModel.objects.active().filter(key=key).first()
    if row is None:
        raise _model_not_found(name)
    _, available, reason = availability(row, show_paths=user.is_staff)
    if not available:
        raise _model_not_found(name, reason)
    return generation.base_model_spec(row), None


@endpoint("GET")
def models(request: AuthenticatedRequest) -> JsonResponse:
    return JsonResponse(listing(_models(request.user), has_more=False))


def _models(user: User) -> list[dict[str, Any]]:
    items = [
        model_object(row.key, created=None, owned_by="llm-tuner")
        for row in BaseModel.objects.active()
        if availability(row)[1]
    ]
    jobs = Job.objects.visible_to(user).filter(status=Job.Status.SUCCEEDED).exclude(output_dir="")
    for job in jobs.select_related("base_model", "owner"):
        if job.has_model():
            items.append(
                model_object(model_name(job), created=job.finished_at, owned_by=job.owner.username)
            )
    return items


@endpoint("GET")
def model_detail(request: AuthenticatedRequest, model_id: str) -> JsonResponse:
    found = [m for m in _models(request.user) if m["id"] == model_id]
    if not found:
        raise _model_not_found(model_id)
    return JsonResponse(found[0])


@endpoint("POST")
def completions(request: AuthenticatedRequest) -> JsonResponse | StreamingHttpResponse:
    throttle(request, "generate")
    body = json_body(request)
    options = sampling_request(body)
    prompt = completion_prompt(body)
    spec, _ = resolve_model(request.user, options["model"])
    return _answer(request, options, spec, prompt, chat=False)


@endpoint("POST")
def chat_completions(
    request: AuthenticatedRequest,
) -> JsonResponse | StreamingHttpResponse:
    throttle(request, "generate")
    body = json_body(request)
    options = sampling_request(body)
    messages = chat_messages(body)
    spec, kind = resolve_model(request.user, options["model"])
    prompt = chat_prompt(kind, messages)
    if kind in ("chat", None):
        options["stop"] = options["stop"] + CHAT_STOPS
    return _answer(request, options, spec, prompt, chat=True)


def chat_prompt(kind: str | None, messages: list[dict[str, str]]) -> str:
    """The messages in the format the model was trained on (jobs.datasets.segments): chat
    turns as "Role: content" lines ending with "Assistant: " (also for base models); for a
    prompt/completion model the last user message as a prompt; for plain text the contents."""
    if kind == "prompt_completion":
        users = [m["content"] for m in messages if m["role"] == "user"]
        return generation_prompt(kind, users[-1] if users else messages[-1]["content"])
    if kind == "text":
        return "\n".join(m["content"] for m in messages)
    turns = "".join(f"{ROLE_HEADERS[m['role']]}{m['content']}\n" for m in messages)
    return turns + ROLE_HEADERS["assistant"]


def _answer(
    request: AuthenticatedRequest,
    options: dict[str, Any],
    spec: dict[str, Any],
    prompt: str,
    *,
    chat: bool,
) -> JsonResponse | StreamingHttpResponse:
    ask = {
        "user": request.user.pk,
        "model": spec,
        "prompt": prompt,
        **{k: options[k] for k in ("n", "max_tokens", "temperature", "top_p", "stop", "seed")},
    }
    shape = Shape(options["model"], chat=chat)
    try:
        if options["stream"]:
            events = client.start({**ask, "stream": True})
        else:
            return JsonResponse(shape.whole(client.complete(ask)))
    except client.Busy as exc:
        raise OpenAIError(
            str(exc), status=429, code="rate_limit_exceeded", retry_after=exc.retry_after
        ) from exc
    except client.Unavailable as exc:
        raise OpenAIError(
            str(exc), status=503, code="inference_unavailable", retry_after=1
        ) from exc
    stream = _sse(shape, events, options["include_usage"])
    response = StreamingHttpResponse(stream, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # a proxy must pass each event on at once
    return response


def _sse(shape: "Shape", events: Iterable[dict[str, Any]], include_usage: bool) -> Iterator[bytes]:
    for event in events:
        if event["type"] == "text":
            yield _data(shape.chunk(event["index"], event["text"]))
        elif event["type"] == "done":
            for choice in event["choices"]:
                yield _data(shape.chunk(choice["index"], None, choice["finish_reason"]))
            if include_usage:
                yield _data({**shape.head(chunk=True), "choices": [], "usage": event["usage"]})
        else:
            error = {
                "message": event["message"],
                "type": "server_error",
                "param": None,
                "code": "inference_failed",
            }
            yield _data({"error": error})
    yield b"data: [DONE]\n\n"


def _data(obj: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(obj)}\n\n".encode()


class Shape:
    """The objects of one answer: a completion or chat completion, whole or in chunks."""

    def __init__(self, model: str, *, chat: bool) -> None:
        self.model, self.chat = model, chat
        self.id = f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())
        self._started: set[int] = set()

    def head(self, *, chunk: bool = False) -> dict[str, Any]:
        kind = "chat.completion" if self.chat else "text_completion"
        if self.chat and chunk:
            kind = "chat.completion.chunk"
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}

    def whole(self, done: dict[str, Any]) -> dict[str, Any]:
        choices = [self._choice(c) for c in done["choices"]]
        return {**self.head(), "choices": choices, "usage": done["usage"]}

    def _choice(self, choice: dict[str, Any]) -> dict[str, Any]:
        if not self.chat:
            return {**choice, "logprobs": None}
        text = choice["text"].removesuffix("\n")  # each trained turn ends with a newline
        message = {"role": "assistant", "content": text, "refusal": None}
        return {
            "index": choice["index"],
            "message": message,
            "finish_reason": choice["finish_reason"],
            "logprobs": None,
        }

    def chunk(
        self, index: int, text: str | None, finish_reason: str | None = None
    ) -> dict[str, Any]:
        if not self.chat:
            piece = {
                "index": index,
                "text": text or "",
                "logprobs": None,
                "finish_reason": finish_reason,
            }
            return {**self.head(chunk=True), "choices": [piece]}
        delta = {} if text is None else {"content": text}
        if index not in self._started:
            self._started.add(index)
            delta = {"role": "assistant", **delta}
        piece = {"index": index, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
        return {**self.head(chunk=True), "choices": [piece]}
