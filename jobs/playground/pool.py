"""The inference pool: who may generate now, and the generation itself.

Admission is bounded twice: at most INFERENCE_QUEUE requests are admitted at once (running or
waiting for one of INFERENCE_SLOTS), and at most INFERENCE_PER_USER of them are one user's.
Anything over is refused at once with Busy (the API's 429 with Retry-After), so a burst of
clients never piles up behind the models, and one user cannot take every slot.

The pool runs in its own process (`manage.py inference`, jobs.playground.server) where the site
is served; without INFERENCE_ADDRESS (tests, the embedded default) it runs inside the calling
process through the same code (jobs.playground.client).

A request is a dict: {"user", "model": spec (jobs.playground.loading), "prompt", "n",
"max_tokens", "temperature", "top_p", "stop", "seed", "stream"}. `execute` reports through
`emit`: {"type": "text", "index", "text"} pieces while streaming, then {"type": "done",
"choices": [{"index", "text", "finish_reason"}], "usage": {...}}.
"""

import threading
from collections import Counter
from contextlib import contextmanager

from django.conf import settings


class Busy(Exception):
    """The pool is full (or the user has their share of it): try again after `retry_after` s."""

    def __init__(self, message, retry_after):
        super().__init__(message)
        self.retry_after = retry_after


class Pool:
    def __init__(self, *, slots, queue, per_user):
        self.slots, self.queue, self.per_user = slots, max(queue, slots), per_user
        self._lock = threading.Lock()
        self._admitted = 0
        self._by_user = Counter()
        self._running = threading.BoundedSemaphore(slots)

    @contextmanager
    def admit(self, user):
        """Hold a place for `user`'s request, or raise Busy; the body runs once a slot frees."""
        with self._lock:
            if self._admitted >= self.queue:
                raise Busy(
                    f"The inference queue is full ({self.queue} requests); try again shortly.",
                    retry_after=2,
                )
            if self._by_user[user] >= self.per_user:
                raise Busy(
                    f"You already have {self.per_user} generation requests in progress, the "
                    "most one user may have; wait for one to finish.",
                    retry_after=1,
                )
            self._admitted += 1
            self._by_user[user] += 1
        try:
            with self._running:
                yield
        finally:
            with self._lock:
                self._admitted -= 1
                self._by_user[user] -= 1

    def load(self):
        with self._lock:
            return {"admitted": self._admitted, "queue": self.queue, "slots": self.slots}


def pool_from_settings():
    return Pool(
        slots=settings.INFERENCE_SLOTS,
        queue=settings.INFERENCE_QUEUE,
        per_user=settings.INFERENCE_PER_USER,
    )


def execute(request, emit):
    """1. Load the model (kept warm). 2. Answer: `n` choices at once from the engine's batched
    generation (jobs.engine.generation, the evaluations' path too), or one choice at a time,
    streaming pieces, when asked to stream. 3. Report the choices and the exact token counts."""
    from jobs.playground import loading  # torch: only where models run

    model, tokenizer = loading.load(request["model"])
    if request.get("stream"):
        choices, prompt_tokens = _streamed(model, tokenizer, request, emit)
    else:
        choices, prompt_tokens = _batched(model, tokenizer, request)
    completion_tokens = sum(choice.pop("tokens") for choice in choices)
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    emit({"type": "done", "choices": choices, "usage": usage})


def _batched(model, tokenizer, request):
    """The `n` choices as one batch of the same prompt (one forward pass per token for all)."""
    from jobs.engine.generation import generate_batch

    n = request.get("n", 1)
    results = generate_batch(
        model,
        tokenizer,
        [request["prompt"]] * n,
        max_new_tokens=request["max_tokens"],
        batch_size=n,
        temperature=request["temperature"],
        top_p=request["top_p"],
        seed=request.get("seed"),
        stop=request.get("stop") or [],
    )
    choices = [
        {"index": i, "text": r.text, "finish_reason": r.finish_reason, "tokens": r.tokens}
        for i, r in enumerate(results)
    ]
    return choices, results[0].prompt_tokens


def _streamed(model, tokenizer, request, emit):
    """Choice after choice, each piece of text emitted as it is produced."""
    from jobs.playground import sampling

    ids, max_tokens = sampling.prompt_ids(
        model, tokenizer, request["prompt"], request["max_tokens"]
    )
    generator = sampling.make_generator(request.get("seed"))
    choices = []
    for index in range(request.get("n", 1)):
        on_text = lambda piece, i=index: emit({"type": "text", "index": i, "text": piece})  # noqa: E731
        choice = sampling.sample(
            model,
            tokenizer,
            ids,
            max_tokens=max_tokens,
            temperature=request["temperature"],
            top_p=request["top_p"],
            stop=request.get("stop") or [],
            generator=generator,
            on_text=on_text,
        )
        choices.append(
            {
                "index": index,
                "text": choice.text,
                "finish_reason": choice.finish_reason,
                "tokens": choice.tokens,
            }
        )
    return choices, int(ids.shape[1])
