"""The Django side of an evaluation on a worker: read its examples, load its model, generate
and score in batches (jobs.engine.generation), summarise with bootstrap intervals
(jobs.evaluations.bootstrap) and record everything.

Imported only inside a worker's task (jobs.evaluations.worker), because it imports torch. Every
write is conditional on this worker still owning the evaluation: one that was cancelled,
deleted or handed to another worker stops at its next batch.
"""

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection

from jobs.engine.device import pick_device
from jobs.engine.generation import GeneratedText, generate_batch, reference_loglik
from jobs.engine.patterns import compile_regex
from jobs.evaluations.bootstrap import corpus_summary, perplexity_summary, summary
from jobs.evaluations.examples import (
    EvalExample,
    answer_text,
    held_out_indices,
    load_examples,
    pick_indices,
    stop_strings,
)
from jobs.evaluations.metrics import (
    METRICS,
    contains,
    exact_match,
    regex_match,
    rouge_l,
    sentence_bleu,
    sentence_chrf,
)
from jobs.evaluations.references import load_spec
from jobs.models import Checkpoint, Evaluation, EvaluationExample
from jobs.playground.loading import load
from jobs.training.run import SAMPLE_NEW_TOKENS

logger = logging.getLogger(__name__)


class Stopped(Exception):
    """The evaluation was cancelled, deleted or lost to another worker: stop here."""


def run_evaluation(*, evaluation: Evaluation, worker: str) -> str:
    """1. The examples: a job's held-out ones for its automatic evaluation, else a seeded
       sample (or all) of the dataset.
    2. Load the model: a job's, a kept checkpoint's, or a catalog one.
    3. Generate the answers in batches, longest prompts together, writing progress and looking
       for a cancel between batches (when a metric needs outputs).
    4. Score each reference's likelihood in batches, without generating (perplexity).
    5. Per-example scores, then each metric's summary with its 95% bootstrap interval.
    6. A job's own automatic evaluation also answers the job's sample prompts at each of its
       kept checkpoints, so its page shows the model learn.
    7. Write the examples and succeed."""
    started = time.monotonic()
    with _Heartbeat(evaluation, worker):
        try:
            examples = _examples(evaluation)
            device = pick_device("auto")
            spec = load_spec(
                job=evaluation.model_job,
                step=evaluation.checkpoint_step,
                base_model=evaluation.base_model,
            )
            evaluation.log(f"Loading {evaluation.model_label or evaluation.model}")
            model, tokenizer = load(spec)
            progress = _Progress(evaluation, worker, len(examples))
            evaluation.record_progress(worker, device=str(device), examples_total=len(examples))
            outputs = _generate(evaluation, model, tokenizer, examples, progress, device)
            likelihoods = _likelihoods(evaluation, model, tokenizer, examples, progress, device)
            samples = _checkpoint_samples(evaluation, worker, device, final=(model, tokenizer))
        except Stopped as stop:
            return _stopped(evaluation, worker, str(stop))
    rows = _rows(evaluation, examples, outputs, likelihoods)
    figures = _summaries(evaluation, rows)
    EvaluationExample.objects.bulk_create(rows, batch_size=500)
    seconds = round(time.monotonic() - started, 1)
    took = evaluation.succeed(
        worker,
        f"Succeeded: {len(rows)} examples in {seconds:g} s",
        summary=figures,
        examples_done=len(rows),
        checkpoint_samples=samples,
        actual={"seconds": seconds, "device": str(device), "examples": len(rows)},
    )
    if not took:  # deleted or cancelled at the last moment: its rows go with it
        EvaluationExample.objects.filter(evaluation_id=evaluation.pk).delete()
        return "lost"
    return "succeeded"


def _stopped(evaluation: Evaluation, worker: str, reason: str) -> str:
    if reason == "cancelled":
        evaluation.cancelled_by_worker(worker, "Cancelled; no examples were kept")
        return "cancelled"
    logger.info("evaluation %s: %s", evaluation.pk, reason)
    return "lost"


def _examples(evaluation: Evaluation) -> list[EvalExample]:
    dataset = evaluation.dataset
    among = None
    if evaluation.split == "held_out" and evaluation.source_job is not None:
        among = held_out_indices(evaluation.source_job)
    indices = pick_indices(dataset.num_examples, evaluation.max_examples, among)
    examples = load_examples(dataset, indices)
    if not examples:
        raise ValueError(f"Dataset {dataset.pk} gave no examples to evaluate.")
    return examples


def _generate(
    evaluation: Evaluation,
    model: Any,
    tokenizer: Any,
    examples: list[EvalExample],
    progress: "_Progress",
    device: Any,
) -> list[GeneratedText | None]:
    if not any(METRICS[name].needs_generation for name in evaluation.metrics):
        return [None] * len(examples)
    settings_ = evaluation.generation
    batch = int(settings_["batch_size"])
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].prompt))
    outputs: list[GeneratedText | None] = [None] * len(examples)
    evaluation.log(f"Generating answers to {len(examples)} prompts, {batch} at a time")
    for start in range(0, len(order), batch):
        chunk = order[start : start + batch]
        texts = generate_batch(
            model,
            tokenizer,
            [examples[i].prompt for i in chunk],
            max_new_tokens=int(settings_["max_new_tokens"]),
            batch_size=batch,
            temperature=float(settings_["temperature"]),
            top_p=float(settings_["top_p"]),
            seed=int(settings_["seed"]) + start,
            stop=stop_strings(evaluation.dataset.kind),
            device=device,
        )
        for index, text in zip(chunk, texts, strict=True):
            text.text = answer_text(evaluation.dataset.kind, text.text)
            outputs[index] = text
        progress.advance(len(chunk))
    return outputs


def _likelihoods(
    evaluation: Evaluation,
    model: Any,
    tokenizer: Any,
    examples: list[EvalExample],
    progress: "_Progress",
    device: Any,
) -> list[Any]:
    if "perplexity" not in evaluation.metrics:
        return [None] * len(examples)
    evaluation.log("Scoring the references' likelihood")
    scores: list[Any] = []
    step = 64
    for start in range(0, len(examples), step):
        chunk = examples[start : start + step]
        scores += reference_loglik(
            model,
            tokenizer,
            [e.prompt for e in chunk],
            [e.reference for e in chunk],
            batch_size=int(evaluation.generation.get("batch_size", 16)),
            device=device,
        )
        progress.advance(len(chunk))
    return scores


def _rows(
    evaluation: Evaluation,
    examples: list[EvalExample],
    outputs: Sequence[GeneratedText | None],
    likelihoods: Sequence[Any],
) -> list[EvaluationExample]:
    pattern = compile_regex(evaluation.regex) if evaluation.regex else None
    score = _scorer(evaluation, pattern)
    rows = []
    for example, generated, likelihood in zip(examples, outputs, likelihoods, strict=True):
        output = _storable(generated.text) if generated is not None else ""
        scores: dict[str, float | None] = {}
        if generated is not None:
            scores.update(score(output, example.reference))
        if likelihood is not None and likelihood.tokens:
            scores["mean_loglik"] = likelihood.mean_logprob
            scores["perplexity"] = _finite(likelihood.perplexity)
        rows.append(
            EvaluationExample(
                evaluation=evaluation,
                index=example.index,
                prompt=_storable(example.prompt),
                reference=_storable(example.reference),
                output=output,
                scores=scores,
                prompt_tokens=generated.prompt_tokens if generated else 0,
                output_tokens=generated.tokens if generated else 0,
                reference_tokens=likelihood.tokens if likelihood is not None else 0,
                finish_reason=generated.finish_reason if generated else "",
                seconds=round(generated.seconds / max(1, _batch(evaluation)), 4)
                if generated
                else 0,
            )
        )
    return rows


def _batch(evaluation: Evaluation) -> int:
    return int(evaluation.generation.get("batch_size", 16))


def _scorer(evaluation: Evaluation, pattern: Any) -> Callable[[str, str], dict[str, float]]:
    """The per-example scores of the evaluation's generation metrics."""
    chosen = set(evaluation.metrics)
    ignore = evaluation.ignore_case_and_space
    functions: dict[str, Callable[[str, str], float]] = {
        "exact_match": lambda o, r: exact_match(o, r, ignore_case_and_space=ignore),
        "contains": contains,
        "regex": lambda o, r: regex_match(o, pattern),
        "rouge_l": rouge_l,
        "bleu": sentence_bleu,
        "chrf": sentence_chrf,
    }
    wanted = {name: fn for name, fn in functions.items() if name in chosen}
    return lambda output, reference: {name: fn(output, reference) for name, fn in wanted.items()}


def _summaries(evaluation: Evaluation, rows: list[EvaluationExample]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for name in evaluation.metrics:
        if name == "perplexity":
            logliks = [r.scores["mean_loglik"] for r in rows if "mean_loglik" in r.scores]
            figures[name] = perplexity_summary(logliks)
        elif name in ("bleu", "chrf"):
            figures[name] = corpus_summary(
                [r.output for r in rows],
                [r.reference for r in rows],
                name,
            )
        else:
            figures[name] = summary([r.scores[name] for r in rows])
        figures[name] = {
            k: _finite(v) if isinstance(v, float) else v for k, v in figures[name].items()
        }
    return figures


def _checkpoint_samples(
    evaluation: Evaluation, worker: str, device: Any, *, final: tuple[Any, Any]
) -> dict[str, Any]:
    """The job's sample prompts answered at each kept checkpoint and by its final model
    (`final`, already loaded), for the tuned automatic evaluation only:
    {"prompts", "steps": [{"step", "final", "outputs"}]}."""
    job = evaluation.source_job
    if evaluation.role != Evaluation.Role.TUNED or job is None or not job.samples:
        return {}
    prompts = [sample["prompt"] for sample in job.samples]
    steps = []
    for checkpoint in Checkpoint.objects.filter(job=job, is_final=False).order_by("step"):
        reason = evaluation.stop_reason(worker)
        if reason:
            raise Stopped(reason)
        try:
            spec = load_spec(job=job, step=checkpoint.step, base_model=evaluation.base_model)
            model, tokenizer = load(spec)
        except Exception as exc:  # a pruned or unreadable checkpoint: say so, go on
            message = f"Checkpoint at step {checkpoint.step} not sampled: {exc}"
            evaluation.log(message, level="warning")
            continue
        outputs = _answers(model, tokenizer, prompts, job.dataset.kind, device)
        steps.append({"step": checkpoint.step, "final": False, "outputs": outputs})
    outputs = _answers(*final, prompts, job.dataset.kind, device)
    # The exported model is the best checkpoint's when training kept the best, not the last.
    exported = int((job.actual or {}).get("exported_step") or job.step)
    steps.append({"step": exported, "final": True, "outputs": outputs})
    return {"prompts": prompts, "steps": steps}


def _answers(model: Any, tokenizer: Any, prompts: list[str], kind: str, device: Any) -> list[str]:
    stop = stop_strings(kind)
    texts = generate_batch(
        model, tokenizer, prompts, max_new_tokens=SAMPLE_NEW_TOKENS, stop=stop, device=device
    )
    return [_storable(answer_text(kind, t.text)) for t in texts]


def _storable(text: str) -> str:
    # PostgreSQL's text and JSON refuse NUL, which the data and byte-level tokens can hold.
    return text.replace("\x00", "\ufffd")


def _finite(value: float | None) -> float | None:
    # JSON has no infinity or NaN: an unbounded perplexity is stored as None.
    return value if value is None or math.isfinite(value) else None


class _Progress:
    """Examples done and the ETA, written after each batch; a cancel or a lost evaluation
    raises Stopped there."""

    def __init__(self, evaluation: Evaluation, worker: str, examples: int) -> None:
        self.evaluation, self.worker = evaluation, worker
        passes = sum(
            1
            for needed in (
                any(METRICS[n].needs_generation for n in evaluation.metrics),
                "perplexity" in evaluation.metrics,
            )
            if needed
        )
        self.units, self.done, self.examples = max(1, passes) * examples, 0, examples
        self.started = time.monotonic()

    def advance(self, count: int) -> None:
        self.done += count
        elapsed = time.monotonic() - self.started
        eta = elapsed / self.done * (self.units - self.done) if self.done else None
        done = min(self.examples, round(self.done * self.examples / self.units))
        if not self.evaluation.record_progress(self.worker, examples_done=done, eta_seconds=eta):
            raise Stopped(self.evaluation.stop_reason(self.worker) or "lost")
        reason = self.evaluation.stop_reason(self.worker)
        if reason:
            raise Stopped(reason)


class _Heartbeat:
    """A thread that keeps the heartbeat fresh while a model loads or a long batch runs."""

    def __init__(self, evaluation: Evaluation, worker: str) -> None:
        self.evaluation, self.worker = evaluation, worker
        self.interval = max(1.0, settings.JOB_HEARTBEAT_TIMEOUT_S / 4)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "_Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    close_old_connections()
                    self.evaluation.record_progress(self.worker)
                except Exception:  # the next beat retries
                    logger.warning("evaluation %s: heartbeat failed", self.evaluation.pk)
        finally:
            connection.close()
