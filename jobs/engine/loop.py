"""The training loop: a configuration, examples and callbacks in; a trained model out.

It reads like nanoGPT's train.py: `train`, a linear sequence (device, tokenizer, rows, model,
optimizer, resume, loop), then the loop. The configuration with its commented defaults, and the
result, are in config.py. No Django here, so benchmarks and tests can run and measure it on its
own. Its parts: rows.py and data.py (rows, batches), modelling.py (tokenizer, model, optimizer,
schedule), device.py (device, precision, compilation, threads, MFU), evaluation.py (loss,
accuracy, perplexity), checkpoints.py (save and resume).

Checkpoints hold everything needed to continue exactly: trainable weights, optimizer,
scheduler, gradient scaler and random state, plus the global step. The data order of each
epoch depends only on the seed and the epoch, so a resumed run replays the same batches.
"""

import math
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from jobs.engine import best as best_model
from jobs.engine import checkpoints as ckpt
from jobs.engine import data, fused_loss
from jobs.engine.callbacks import Callbacks
from jobs.engine.config import RunState, TrainConfig, TrainResult
from jobs.engine.device import (
    autocast,
    available_cpus,  # noqa: F401  (part of the engine's interface: bench/train_throughput.py)
    choose_num_threads,
    compile_backend,
    device_name,
    model_flops_utilisation,
    peak_memory,
    pick_device,
    pick_precision,
)
from jobs.engine.evaluation import evaluate, loss_and_hits
from jobs.engine.modelling import (  # noqa: F401  (ModelLoadError, load_tokenizer: interface)
    LanguageModel,
    ModelLoadError,
    build_model,
    load_tokenizer,
    make_optimizer,
    make_scheduler,
    training_flops_per_token,
)
from jobs.engine.rows import prepare_rows

if TYPE_CHECKING:
    pass


# TrainResult.precision of each autocast dtype; no autocast (None) is fp32.
_PRECISION_NAMES: dict[torch.dtype | None, str] = {torch.bfloat16: "bf16", torch.float16: "fp16"}


def train(
    cfg: TrainConfig,
    train_examples: data.ExamplesLike,
    eval_examples: data.ExamplesLike | None = None,
    callbacks: Callbacks | None = None,
) -> TrainResult:
    """Train and return a TrainResult.

    1. Pick the device and precision (TF32 and bf16 autocast on CUDA; bf16 on a CPU with bf16
       instructions).
    2. Tokenise (streamed into compact arrays, or read from the cache): pack plain text, one
       row per example otherwise; hold out validation rows.
    3. Build the model (pretrained or random, with the shapes of a checkpoint to resume), LoRA.
    4. Optimizer (fused AdamW) and learning-rate schedule; resume from the newest checkpoint.
    5. Compile if asked, with fixed batch shapes so that warm-up compiles every graph.
    6. Loop: forward, backward, clip, step; log, evaluate, checkpoint, ask whether to stop.
    7. Final evaluation: a full pass over every validation row.
    """
    cb = callbacks or Callbacks()
    device = pick_device(cfg.device)
    amp_dtype = pick_precision(cfg.precision, device)
    if device.type == "cuda":
        torch.set_float32_matmul_precision("high")  # TF32 matmuls
    tokenizer = load_tokenizer(cfg.tokenizer_path or cfg.model_path)
    train_rows, eval_rows, warnings = prepare_rows(
        cfg, tokenizer, train_examples, eval_examples, cb
    )

    checkpoints = Path(cfg.output_dir) / "checkpoints"
    ckpt.seed_everything(cfg.seed)
    vocab_size = ckpt.saved_vocab_size(checkpoints, len(tokenizer)) if cfg.resume else None
    model = build_model(cfg, tokenizer, vocab_size).to(device)
    backend = compile_backend(cfg, device)
    fused = fused_loss.wanted(cfg, model, device, amp_dtype, backend)
    num_threads = 0
    if device.type == "cpu":
        num_threads = _measure_threads(cfg, model, train_rows, fused, amp_dtype)
    optimizer = make_optimizer(model, cfg, device)
    steps_per_epoch = math.ceil(
        math.ceil(len(train_rows) / cfg.batch_size) / cfg.gradient_accumulation_steps
    )
    total_steps = steps_per_epoch * cfg.epochs
    scheduler = make_scheduler(optimizer, cfg, total_steps)
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)

    state = RunState()
    resumed_from = (
        ckpt.resume(checkpoints, model, optimizer, scheduler, scaler, state, device)
        if cfg.resume
        else None
    )
    forward, fixed = _compiled(model, cfg, backend) if backend else (model, None)
    cb.on_start(
        {
            "total_steps": total_steps,
            "start_step": state.step,
            "resumed_from": resumed_from,
            "device": device_name(device),
            "num_threads": num_threads,
            "train_rows": len(train_rows),
            "eval_rows": len(eval_rows) if eval_rows else 0,
            "tokens_per_epoch": train_rows.num_tokens,
            "precision": str(amp_dtype).replace("torch.", "") if amp_dtype else "float32",
            "compile": backend or "off",
            "fused_loss": fused,
            "warnings": warnings,
        }
    )
    for message in warnings:
        cb.on_warning(message)

    loop = _Loop(cfg, cb, model, forward, optimizer, scheduler, scaler, device, amp_dtype, fixed)
    loop.fused = fused
    stopped, train_loss, run_tokens, run_seconds = loop.run(
        state, train_rows, eval_rows, checkpoints, total_steps, steps_per_epoch
    )
    if not stopped and eval_rows is not None:
        # The final evaluation reads every row. After an early stop it follows, at the same
        # step, the evaluation that stopped the run (on at most eval_max_rows rows): that one
        # already counted for the best model, and when it read every row it is not repeated.
        evaluated_here = loop.last_eval_step == state.step
        if not evaluated_here or 0 < cfg.eval_max_rows < len(eval_rows):
            loop.evaluate(state, eval_rows, steps_per_epoch, max_rows=None)
        if not evaluated_here:
            best_model.track_evaluation(state, cfg, state.eval_loss)
    best_folder = None if stopped else best_model.best_checkpoint_to_export(cfg, state, checkpoints)
    if best_folder is not None:
        ckpt.load_weights(best_folder, model)
    tokens_per_second = run_tokens / run_seconds if run_seconds else 0.0
    return TrainResult(
        model=model,
        tokenizer=tokenizer,
        step=state.step,
        total_steps=total_steps,
        stopped=stopped,
        train_loss=train_loss,
        eval_loss=state.eval_loss,
        train_accuracy=loop.train_accuracy,
        eval_accuracy=state.eval_metrics.get("eval_accuracy"),
        eval_perplexity=state.eval_metrics.get("eval_perplexity"),
        tokens_seen=state.tokens_seen,
        seconds=state.elapsed_seconds,
        tokens_per_second=tokens_per_second,
        peak_memory_bytes=peak_memory(device),
        device=device_name(device),
        num_threads=num_threads,
        train_rows=len(train_rows),
        eval_rows=len(eval_rows) if eval_rows else 0,
        warnings=warnings,
        mfu=model_flops_utilisation(
            tokens_per_second, training_flops_per_token(model, cfg), device_name(device)
        ),
        best_step=state.best_step,
        best_eval_loss=state.best_eval_loss,
        exported_step=state.best_step if best_folder is not None else state.step,
        early_stopped=loop.early_stopped,
        precision=_PRECISION_NAMES.get(amp_dtype, "fp32"),
    )


def _measure_threads(
    cfg: TrainConfig,
    model: LanguageModel,
    rows: data.Rows,
    fused: bool,
    amp_dtype: torch.dtype | None,
) -> int:
    """choose_num_threads on the first batch of the first epoch, with the run's own step."""
    device = torch.device("cpu")
    index = data.batches(rows, batch_size=cfg.batch_size, shuffle=True, seed=cfg.seed)[0]
    batch = data.collate(rows, index, device)

    def step(batch: data.Batch) -> None:
        input_ids, labels, mask, _ = batch
        with autocast(device, amp_dtype):
            loss, _ = loss_and_hits(model, model, fused, input_ids, mask, labels)
        loss.backward()

    threads = choose_num_threads(cfg, step, batch)
    model.zero_grad(set_to_none=True)
    return threads


def _compiled(
    model: LanguageModel, cfg: TrainConfig, backend: str
) -> tuple[Callable[..., Any], data.FixedShapes]:
    """The compiled model and the fixed batch shapes it is fed, so that every graph is compiled
    during warm-up (a recompile costs seconds on a CPU, minutes for a large model on a GPU).
    dynamic=False: one static graph per shape, a handful in all, rather than a symbolic one."""
    forward = torch.compile(model, backend=backend, dynamic=False)
    return forward, data.FixedShapes(cfg.batch_size, cfg.max_seq_length, packed=cfg.kind == "text")


class _Loop:
    """The inner loop, kept apart from setup so each reads in one screen."""

    def __init__(
        self,
        cfg: TrainConfig,
        cb: Callbacks,
        model: LanguageModel,
        forward: Callable[..., Any],
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        scaler: torch.amp.GradScaler,
        device: torch.device,
        amp: torch.dtype | None,
        fixed: data.FixedShapes | None,
    ) -> None:
        self.cfg, self.cb, self.model, self.forward = cfg, cb, model, forward
        self.optimizer, self.scheduler, self.scaler = optimizer, scheduler, scaler
        self.device, self.amp_dtype, self.fixed = device, amp, fixed
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.last_eval_step: int | None = None
        self.early_stopped = False
        self.train_accuracy: float | None = None
        self.fused = False

    def run(
        self,
        state: RunState,
        train_rows: data.Rows,
        eval_rows: data.Rows | None,
        checkpoints: Path,
        total_steps: int,
        steps_per_epoch: int,
    ) -> tuple[str | None, float | None, int, float]:
        cfg, cb = self.cfg, self.cb
        log_every = cfg.log_steps or max(1, total_steps // 50)
        accum = cfg.gradient_accumulation_steps
        epoch_batches, stopped, train_loss = {}, None, None
        loss_sum, loss_count = torch.zeros((), device=self.device), 0
        hits = torch.zeros(2, device=self.device)  # correctly predicted tokens, predicted tokens
        window_start, window_tokens = time.perf_counter(), 0
        run_start, run_tokens = time.perf_counter(), 0
        self.model.train()
        while state.step < total_steps and not stopped and not self.early_stopped:
            epoch, in_epoch = divmod(state.step, steps_per_epoch)
            if epoch not in epoch_batches:
                epoch_batches = {
                    epoch: data.batches(
                        train_rows, batch_size=cfg.batch_size, shuffle=True, seed=cfg.seed + epoch
                    )
                }
            micro = epoch_batches[epoch][in_epoch * accum : (in_epoch + 1) * accum]
            loss, tokens, grad_norm = self._step(train_rows, micro, hits)
            state.step += 1
            state.tokens_seen += tokens
            window_tokens += tokens
            run_tokens += tokens
            loss_sum += loss
            loss_count += 1
            if state.step % log_every == 0 or state.step == total_steps:
                # The only sync with the device: loss and accuracy in one transfer.
                train_loss, correct, predicted = torch.cat(
                    [(loss_sum / loss_count)[None], hits]
                ).tolist()
                self.train_accuracy = correct / predicted if predicted else None
                now = time.perf_counter()
                cb.on_log(
                    {
                        "step": state.step,
                        "epoch": state.step / steps_per_epoch,
                        "train_loss": train_loss,
                        "train_accuracy": self.train_accuracy,
                        "learning_rate": self.scheduler.get_last_lr()[0],
                        "grad_norm": float(grad_norm),
                        "tokens_per_second": window_tokens / max(now - window_start, 1e-9),
                    }
                )
                loss_sum, loss_count = torch.zeros((), device=self.device), 0
                hits.zero_()
                window_start, window_tokens = now, 0
            is_new_best = False
            last = (
                state.step == total_steps
            )  # the final evaluation, after the loop, reads every row
            if eval_rows is not None and cfg.eval_steps and state.step % cfg.eval_steps == 0:
                if not last:
                    self.evaluate(state, eval_rows, steps_per_epoch, max_rows=cfg.eval_max_rows)
                    self.last_eval_step = state.step
                    is_new_best, self.early_stopped = best_model.track_evaluation(
                        state, cfg, state.eval_loss
                    )
            run_seconds = time.perf_counter() - run_start
            saved = cfg.save_steps and state.step % cfg.save_steps == 0 and state.step < total_steps
            saved = saved or best_model.wants_best_checkpoint(
                cfg, is_new_best, state.step, total_steps
            )
            if saved:
                self._checkpoint(checkpoints, state, run_seconds)
            cb.on_step(
                {
                    "step": state.step,
                    "total_steps": total_steps,
                    "epoch": state.step / steps_per_epoch,
                    "tokens_seen": state.tokens_seen,
                    "elapsed_seconds": state.elapsed_seconds + run_seconds,
                }
            )
            stopped = cb.should_stop()
            if stopped in ("paused", "preempted") and not saved:
                # A paused or preempted run resumes from its newest checkpoint: write one now.
                self._checkpoint(checkpoints, state, time.perf_counter() - run_start)
        run_seconds = time.perf_counter() - run_start
        state.elapsed_seconds += run_seconds
        return stopped, train_loss, run_tokens, run_seconds

    def evaluate(
        self, state: RunState, eval_rows: data.Rows, steps_per_epoch: int, *, max_rows: int | None
    ) -> None:
        metrics = evaluate(
            self.model,
            eval_rows,
            self.cfg,
            self.device,
            self.amp_dtype,
            max_rows=max_rows,
            fused=self.fused,
        )
        state.eval_loss = metrics.pop("eval_loss")
        state.eval_metrics = metrics
        self.cb.on_evaluate(
            state.step, state.eval_loss, state.step / steps_per_epoch, metrics=metrics
        )

    def _step(
        self, rows: data.Rows, micro_batches: list[torch.Tensor], hits: torch.Tensor
    ) -> tuple[torch.Tensor, int, torch.Tensor]:
        """One optimizer step over some micro-batches: loss (a device tensor), tokens, grad norm.
        Adds the micro-batches' correct and predicted token counts to `hits`."""
        total_loss, tokens = torch.zeros((), device=self.device), 0
        for index in micro_batches:
            input_ids, labels, mask, n = data.collate(rows, index, self.device, self.fixed)
            with autocast(self.device, self.amp_dtype):
                loss, batch_hits = loss_and_hits(
                    self.model, self.forward, self.fused, input_ids, mask, labels
                )
            hits += batch_hits
            loss = loss / len(micro_batches)
            self.scaler.scale(loss).backward()
            total_loss += loss.detach()
            tokens += n
        self.scaler.unscale_(self.optimizer)
        grad_norm = torch.nn.utils.clip_grad_norm_(self.params, self.cfg.max_grad_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return total_loss, tokens, grad_norm

    def _checkpoint(self, checkpoints: Path, state: RunState, run_seconds: float) -> None:
        snapshot = replace(state, elapsed_seconds=state.elapsed_seconds + run_seconds)
        path, size = ckpt.save_checkpoint(
            checkpoints, self.model, self.optimizer, self.scheduler, self.scaler, snapshot
        )
        self.cb.on_checkpoint(state.step, str(path), size, state.eval_loss)
        kept = ckpt.prune_checkpoints(
            checkpoints, keep=self.cfg.save_total_limit, protect=state.best_step
        )
        for step, old in kept:
            self.cb.on_checkpoint_removed(step, str(old))
