"""The Django side of training: feed a job its worker has claimed to the engine, then export
the model and end the job.

Imported only inside a worker's task (jobs.training.worker.job_run), because it imports torch. What
the run writes on the way (progress, metrics, checkpoints, heartbeats, the end state) is in
jobs.training.recording, always conditional on this worker's token; the model card is in
jobs.training.card.
"""

import logging
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from django.conf import settings

from jobs.catalog.services import model_source
from jobs.datasets.reader import format_segments, iter_examples
from jobs.datasets.segments import chat_template
from jobs.engine import archive, data, export, gguf_export, loop
from jobs.engine.config import LanguageModel
from jobs.engine.constants import DEFAULT_MAX_SEQ_LENGTH, GPT2_CONTEXT_LENGTH
from jobs.engine.token_cache import prune_stores
from jobs.models import BaseModel, Checkpoint, Dataset, Job
from jobs.planning.hyperparameters import HYPERPARAMETERS
from jobs.storage import files
from jobs.training.card import format_loss, model_card
from jobs.training.recording import Heartbeat, JobCallbacks, finish_run

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

SAMPLE_PROMPTS = 3
SAMPLE_NEW_TOKENS = 30


def run_job(
    *,
    job: Job,
    worker: str,
    stopping: Callable[[], bool] | None = None,
    requeued: Callable[[], object] | None = None,
) -> str:
    """1. Read the examples as the model sees them (the dataset preview's own function).
    2. Train with callbacks that write progress, metrics, events, checkpoints and heartbeats;
       SIGTERM to this process, or `stopping()` turning true (its qcluster got SIGTERM), stops
       the loop with a checkpoint; the heartbeat thread stops a loop that stalls.
    3. Stopped early: cancelled (checkpoints kept), paused (held with a fresh checkpoint),
       preempted (queued again with a fresh checkpoint; the caller enqueues it), or lost to
       another worker (leave it).
    4. Otherwise export the model and its zip, generate samples and mark the job succeeded."""
    cfg = build_config(job)
    _fetch_newest_checkpoint(job)
    pruned = prune_stores(cfg.data_cache_dir, settings.WORKER_TOKEN_CACHE_MB * 1024 * 1024)
    if pruned:
        logger.info("token cache: removed %d least recently used stores", len(pruned))
    callbacks = JobCallbacks(job, worker, stopping=stopping)
    with Heartbeat(job, worker, callbacks=callbacks, on_stall=requeued), preemption(callbacks):
        train_examples = _examples(job.dataset)
        validation = job.validation_dataset
        eval_examples = _examples(validation) if validation is not None else None
        # Tokenising a large dataset takes a while before the first step: say what is happening.
        job.log(
            f"Preparing: tokenising {job.dataset.num_examples:,} examples and loading the model",
            kind="log",
        )
        result = loop.train(cfg, train_examples, eval_examples, callbacks)
        if result.stopped == "cancelled":
            finish_run(job, worker, Job.Status.CANCELLED, _cancelled(job, result.step), result)
            return "cancelled"
        if result.stopped == "paused":
            message = f"Paused at step {result.step}; resume continues from its checkpoint."
            job.hold(worker, message, step=result.step, tokens_seen=result.tokens_seen)
            return "paused"
        if result.stopped == "preempted":
            message = f"Worker {worker} is stopping at step {result.step}; checkpoint written"
            job.preempt(worker, message, step=result.step, tokens_seen=result.tokens_seen)
            return "preempted"
        if result.stopped:
            logger.warning("job %s: %s; leaving it to its new owner", job.pk, result.stopped)
            return "lost"
        _log_best_model(job, result)
        folder, samples = _export(job, cfg, result, (eval_examples or train_examples).read())
        # Built once here, not in the download request (minutes for gpt2-xl).
        job.log("Building the model's zip for download", kind="log")
        archive.zip_folder(folder, job.folder / "model.zip")
        files.publish_folder(folder)
        files.publish_file(job.folder / "model.zip")
    _record_final_model(job, folder, result, samples)
    finish_run(
        job,
        worker,
        Job.Status.SUCCEEDED,
        _succeeded(job, result),
        result,
        output_dir=files.key_of(folder),
        samples=samples,
    )
    return "succeeded"


@contextmanager
def preemption(callbacks: JobCallbacks) -> Iterator[None]:
    """While training, SIGTERM (spot capacity reclaimed, a deploy, a whole process group
    stopped) asks the loop to checkpoint and stop instead of killing the process mid-step.
    Only the main thread may set a handler; elsewhere (a test's thread) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        callbacks.preempt_requested = True

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _fetch_newest_checkpoint(job: Job) -> None:
    """With an object store, a job resumed on another machine continues from the newest
    checkpoint recorded (each was uploaded completely before its row was written)."""
    if not files.remote():
        return
    newest = Checkpoint.objects.filter(job=job, is_final=False).order_by("-step").first()
    if newest is not None:
        job.log(f"Downloading the checkpoint at step {newest.step} from the store", kind="log")
        files.fetch_folder(newest.path)


def _cancelled(job: Job, step: int) -> str:
    kept = Checkpoint.objects.filter(job=job, is_final=False).count()
    if not kept:
        return f"Cancelled at step {step}; no checkpoint had been written yet."
    return f"Cancelled at step {step}; {kept} checkpoint{'s' if kept != 1 else ''} kept."


def _succeeded(job: Job, result: loop.TrainResult) -> str:
    if result.early_stopped:
        return f"Succeeded: stopped early at step {result.step} of {result.total_steps}"
    return "Succeeded"


def _log_best_model(job: Job, result: loop.TrainResult) -> None:
    """Say why the run ended early and which weights are exported."""
    hp = job.hyperparameters
    if result.early_stopped:
        job.log(
            f"Stopped early at step {result.step} of {result.total_steps}: the eval loss did not "
            f"improve by {hp.get('early_stopping_min_delta', 0):g} for "
            f"{hp.get('early_stopping_patience')} evaluations "
            f"(best {format_loss(result.best_eval_loss)} at step {result.best_step})",
            kind="state",
            data={"step": result.step, "best_step": result.best_step},
        )
    if result.exported_step != result.step:
        job.log(
            f"Exporting the best model: step {result.exported_step} (eval loss "
            f"{format_loss(result.best_eval_loss)}), not the last step {result.step} "
            f"(eval loss {format_loss(result.eval_loss)})",
            kind="log",
            data={"exported_step": result.exported_step, "best_step": result.best_step},
        )


def exported_eval_loss(result: loop.TrainResult) -> float | None:
    """The eval loss of the weights that were exported (the best, or the last)."""
    return result.best_eval_loss if result.exported_step != result.step else result.eval_loss


def _export(
    job: Job, cfg: loop.TrainConfig, result: loop.TrainResult, examples: Iterable[data.Segments]
) -> tuple[Path, list[dict[str, str]]]:
    """Save the model under the job's final/ folder, its GGUF files beside it (GPT-2 models),
    then its card saying which formats exist; generate a few samples from prompts taken from
    `examples`. Returns the folder and the samples."""
    job.log("Training finished; saving the model", kind="log")
    folder = job.folder / "final"
    model = export.export_model(
        result.model,
        result.tokenizer,
        folder,
        method=job.method,
        model_card=model_card(job, result),
        chat_template=chat_template() if job.dataset.kind == "chat" else None,
    )
    quants = _export_gguf(job, model, result.tokenizer, folder / "gguf")
    export.write_model_card(folder, model_card(job, result, gguf_quants=quants))
    samples = export.generate_samples(
        model,
        result.tokenizer,
        sample_prompts(islice(examples, 1000)),  # the first prompts found in 1,000 examples
        max_new_tokens=SAMPLE_NEW_TOKENS,
        seed=cfg.seed,
    )
    return folder, [{key: _storable(text) for key, text in s.items()} for s in samples]


def _export_gguf(
    job: Job, model: LanguageModel, tokenizer: "PreTrainedTokenizerBase", folder: Path
) -> list[str]:
    """GGUF files for llama.cpp and Ollama, with a Modelfile; the quants written, or none
    (another architecture, or a failure: the Hugging Face model stands without them)."""
    if model.config.model_type != "gpt2":
        job.log("No GGUF export: it exists for GPT-2 models only", kind="log")
        return []
    job.log("Writing GGUF files (f16, q8_0) and an Ollama Modelfile", kind="log")
    kind = "alpaca" if job.dataset.detected_format == "alpaca" else job.dataset.kind
    try:
        paths = gguf_export.export_gguf(
            model,
            tokenizer,
            folder,
            name=job.name,
            stem=job.gguf_stem,
            template_kind=kind,
        )
    except Exception as exc:  # the model itself is saved: say why GGUF is missing, go on
        logger.exception("job %s: GGUF export failed", job.pk)
        job.log(f"GGUF export failed: {exc}", level="warning", kind="warning")
        return []
    return list(paths)


def _storable(text: str) -> str:
    # The data and the model's byte-level tokens can hold NUL, which PostgreSQL's JSON refuses.
    return text.replace("\x00", "\ufffd")


def _examples(dataset: Dataset) -> data.Examples:
    """The dataset's examples as a stream the engine reads (and tokenises) a chunk at a time;
    the key names the stored file for the worker's cache of tokenised data (an uploaded
    dataset never changes)."""

    def read() -> Iterator[data.Segments]:
        return (format_segments(dataset.kind, example) for example in iter_examples(dataset))

    stamp = int(dataset.created_at.timestamp())
    return data.Examples(
        read=read,
        count=dataset.num_examples or None,
        key=f"dataset-{dataset.pk}-{dataset.size_bytes}-{stamp}",
    )


def build_config(job: Job) -> loop.TrainConfig:
    """The engine's configuration from the job's resolved hyperparameters.

    A precision that auto-configuration chose for a CPU job (not one the user asked for) was
    decided from the web server's CPU: on a CPU the worker decides again from its own
    (`auto`: bf16 where its CPU has bf16 instructions, fp32 otherwise), so that a worker without
    them never runs an emulated bf16, and one with them never forgoes it."""
    hp = dict(job.hyperparameters)
    requested = (job.requested_hyperparameters or {}).get("precision")
    if not requested and loop.pick_device("auto").type == "cpu":
        hp["precision"] = "auto"
    base_model = job.base_model
    if base_model is None:  # the column allows it; every launched job names its root model
        raise ValueError(f"Job {job.pk} names no base model")
    model_path, model_config = model_source(base_model, job.parent_job, job.parent_checkpoint_step)
    builtin = job.parent_job_id is None and base_model.source == BaseModel.Source.BUILTIN
    # Every hyperparameter goes to the engine as is, except max_seq_length (capped below).
    names = [name for name in HYPERPARAMETERS if name != "max_seq_length"]
    return loop.TrainConfig(
        model_path=model_path,
        model_config=model_config,
        tokenizer_path="" if builtin else model_path,
        method=job.method,
        kind=job.dataset.kind or "text",
        max_seq_length=min(
            int(hp.get("max_seq_length", DEFAULT_MAX_SEQ_LENGTH)),
            base_model.context_length or GPT2_CONTEXT_LENGTH,
        ),
        output_dir=str(job.folder),
        data_cache_dir=str(Path(settings.WORKER_SCRATCH_DIR) / "tokens"),
        save_total_limit=settings.JOB_CHECKPOINTS_KEPT,
        **{name: hp[name] for name in names if hp.get(name) is not None},
    )


def sample_prompts(examples: Iterable[data.Segments], count: int = SAMPLE_PROMPTS) -> list[str]:
    """Short prompts from the data: the part before the first loss-carrying segment (the prompt,
    or the chat up to "Assistant: "), or the first words of a plain text."""
    prompts = []
    for segments in examples:
        head = ""
        for text, carries_loss in segments:
            if carries_loss:
                break
            head += text
        if not head.strip() and segments:
            head = " ".join(segments[0][0].split()[:8])
        head = head[-300:]
        if head.strip() and head not in prompts:
            prompts.append(head)
        if len(prompts) == count:
            break
    return prompts


def _record_final_model(
    job: Job, folder: Path, result: loop.TrainResult, samples: list[dict[str, str]]
) -> None:
    Checkpoint.objects.update_or_create(
        job=job,
        step=result.step,
        is_final=True,
        defaults={
            "path": files.key_of(folder),
            "size_bytes": export.folder_size(folder),
            "eval_loss": exported_eval_loss(result),
        },
    )
    for sample in samples:
        job.log(f"Sample: {sample['prompt']!r} → {sample['output']!r}", kind="sample", data=sample)
