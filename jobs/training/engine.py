"""The training loop: a configuration, examples and callbacks in; a trained model out.

It reads like nanoGPT's train.py: the configuration with commented defaults, then `train`, a
linear sequence (device, tokenizer, rows, model, optimizer, resume, loop), then small helpers.
No Django here, so benchmarks and tests can run and measure it on its own.

Checkpoints hold everything needed to continue exactly: trainable weights, optimizer,
scheduler, gradient scaler and random state, plus the global step. The data order of each
epoch depends only on the seed and the epoch, so a resumed run replays the same batches.
"""

import json
import math
import os
import random
import resource
import shutil
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from jobs.constants import DEFAULT_MAX_SEQ_LENGTH, LORA_TARGET_MODULES, VALIDATION_FRACTION
from jobs.training import data
from jobs.training.callbacks import Callbacks


@dataclass
class TrainConfig:
    # --- model ----------------------------------------------------------------------------
    model_path: str = ""  # a Hugging Face folder (or hub id) with the weights to start from
    model_config: dict = field(default_factory=dict)  # GPT2Config arguments: random weights
    tokenizer_path: str = ""  # "" means the official GPT-2 tokenizer, available offline
    method: str = "full"  # "full" trains every weight; "lora" trains low-rank adapters
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    # --- data -----------------------------------------------------------------------------
    kind: str = "text"  # "text" is packed; "prompt_completion" and "chat" keep one example a row
    max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH
    validation_fraction: float = VALIDATION_FRACTION  # held out without validation examples
    # --- optimisation (the names of a job's hyperparameters) ------------------------------
    epochs: int = 1
    learning_rate: float = 5e-4
    batch_size: int = 8
    gradient_accumulation_steps: int = 1
    warmup_ratio: float = 0.05
    weight_decay: float = 0.01
    lr_scheduler: str = "cosine"  # linear, cosine, constant (all with warmup)
    max_grad_norm: float = 1.0
    seed: int = 42
    precision: str = "auto"  # auto: bf16 autocast on CUDA where supported, fp32 on CPU
    # --- cadence --------------------------------------------------------------------------
    log_steps: int = 0  # 0: about 50 metric points over the run
    eval_steps: int = 50  # 0: evaluate only at the end
    save_steps: int = 100  # 0: no intermediate checkpoints
    save_total_limit: int = 2  # older checkpoints are deleted
    # --- where and how fast ---------------------------------------------------------------
    output_dir: str = "out"  # checkpoints go to output_dir/checkpoints
    resume: bool = True  # continue from the newest complete checkpoint in output_dir
    device: str = "auto"  # auto, cpu, cuda
    compile: str = "auto"  # auto: torch.compile on CUDA only (on CPU it costs more than it saves)
    num_threads: int = 0  # CPU threads; 0 measures 1 against all available and keeps the faster


class ModelLoadError(RuntimeError):
    """The base model's weights are missing or unreadable (its message is for the user)."""


@dataclass
class TrainResult:
    model: object  # the trained model, unwrapped (a PeftModel for LoRA)
    tokenizer: object
    step: int
    total_steps: int
    stopped: str | None  # the reason when should_stop ended the run early
    train_loss: float | None
    eval_loss: float | None
    tokens_seen: int
    seconds: float  # training time over every run of this job, resumed runs included
    tokens_per_second: float
    peak_memory_bytes: int
    device: str  # "cpu" or the CUDA device name
    num_threads: int
    train_rows: int
    eval_rows: int
    warnings: list = field(default_factory=list)


@dataclass
class _State:
    step: int = 0
    tokens_seen: int = 0
    elapsed_seconds: float = 0.0
    eval_loss: float | None = None


def train(cfg, train_examples, eval_examples=None, callbacks=None):
    """Train and return a TrainResult.

    1. Pick the device and precision (TF32 and bf16 autocast on CUDA).
    2. Tokenise: pack plain text, one row per example otherwise; hold out validation rows.
    3. Build the model (pretrained or random), add LoRA adapters if asked.
    4. Optimizer (fused AdamW) and learning-rate schedule; resume from the newest checkpoint.
    5. Loop: forward, backward, clip, step; log, evaluate, checkpoint, ask whether to stop.
    6. Final evaluation.
    """
    cb = callbacks or Callbacks()
    device = _pick_device(cfg.device)
    amp_dtype = _pick_precision(cfg.precision, device)
    if device.type == "cuda":
        torch.set_float32_matmul_precision("high")  # TF32 matmuls
    tokenizer = load_tokenizer(cfg.tokenizer_path or cfg.model_path)
    train_rows, eval_rows, warnings = prepare_rows(cfg, tokenizer, train_examples, eval_examples)

    _seed_everything(cfg.seed)
    model = build_model(cfg, tokenizer).to(device)
    num_threads = _choose_num_threads(cfg, model, train_rows) if device.type == "cpu" else 0
    optimizer = make_optimizer(model, cfg, device)
    steps_per_epoch = math.ceil(
        math.ceil(len(train_rows) / cfg.batch_size) / cfg.gradient_accumulation_steps
    )
    total_steps = steps_per_epoch * cfg.epochs
    scheduler = make_scheduler(optimizer, cfg, total_steps)
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)

    checkpoints = Path(cfg.output_dir) / "checkpoints"
    state = _State()
    resumed_from = (
        _resume(checkpoints, model, optimizer, scheduler, scaler, state, device)
        if cfg.resume
        else None
    )
    forward = torch.compile(model) if _use_compile(cfg, device) else model
    cb.on_start(
        {
            "total_steps": total_steps,
            "start_step": state.step,
            "resumed_from": resumed_from,
            "device": _device_name(device),
            "num_threads": num_threads,
            "train_rows": len(train_rows),
            "eval_rows": len(eval_rows) if eval_rows else 0,
            "tokens_per_epoch": train_rows.num_tokens,
            "precision": str(amp_dtype).replace("torch.", "") if amp_dtype else "float32",
            "warnings": warnings,
        }
    )
    for message in warnings:
        cb.on_warning(message)

    loop = _Loop(cfg, cb, model, forward, optimizer, scheduler, scaler, device, amp_dtype)
    stopped, train_loss, run_tokens, run_seconds = loop.run(
        state, train_rows, eval_rows, checkpoints, total_steps, steps_per_epoch
    )
    if (
        not stopped
        and eval_rows is not None
        and (state.eval_loss is None or loop.last_eval_step != state.step)
    ):
        state.eval_loss = evaluate(model, eval_rows, cfg, device, amp_dtype)
        cb.on_evaluate(state.step, state.eval_loss, state.step / steps_per_epoch)
    return TrainResult(
        model=model,
        tokenizer=tokenizer,
        step=state.step,
        total_steps=total_steps,
        stopped=stopped,
        train_loss=train_loss,
        eval_loss=state.eval_loss,
        tokens_seen=state.tokens_seen,
        seconds=state.elapsed_seconds,
        tokens_per_second=run_tokens / run_seconds if run_seconds else 0.0,
        peak_memory_bytes=_peak_memory(device),
        device=_device_name(device),
        num_threads=num_threads,
        train_rows=len(train_rows),
        eval_rows=len(eval_rows) if eval_rows else 0,
        warnings=warnings,
    )


class _Loop:
    """The inner loop, kept apart from setup so each reads in one screen."""

    def __init__(self, cfg, cb, model, forward, optimizer, scheduler, scaler, device, amp_dtype):
        self.cfg, self.cb, self.model, self.forward = cfg, cb, model, forward
        self.optimizer, self.scheduler, self.scaler = optimizer, scheduler, scaler
        self.device, self.amp_dtype = device, amp_dtype
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.last_eval_step = None

    def run(self, state, train_rows, eval_rows, checkpoints, total_steps, steps_per_epoch):
        cfg, cb = self.cfg, self.cb
        log_every = cfg.log_steps or max(1, total_steps // 50)
        accum = cfg.gradient_accumulation_steps
        epoch_batches, stopped, train_loss = {}, None, None
        loss_sum, loss_count = torch.zeros((), device=self.device), 0
        window_start, window_tokens = time.perf_counter(), 0
        run_start, run_tokens = time.perf_counter(), 0
        self.model.train()
        while state.step < total_steps and not stopped:
            epoch, in_epoch = divmod(state.step, steps_per_epoch)
            if epoch not in epoch_batches:
                epoch_batches = {
                    epoch: data.batches(
                        train_rows, batch_size=cfg.batch_size, shuffle=True, seed=cfg.seed + epoch
                    )
                }
            micro = epoch_batches[epoch][in_epoch * accum : (in_epoch + 1) * accum]
            loss, tokens, grad_norm = self._step(train_rows, micro)
            state.step += 1
            state.tokens_seen += tokens
            window_tokens += tokens
            run_tokens += tokens
            loss_sum += loss
            loss_count += 1
            if state.step % log_every == 0 or state.step == total_steps:
                train_loss = (loss_sum / loss_count).item()  # the only sync with the device
                now = time.perf_counter()
                cb.on_log(
                    {
                        "step": state.step,
                        "epoch": state.step / steps_per_epoch,
                        "train_loss": train_loss,
                        "learning_rate": self.scheduler.get_last_lr()[0],
                        "grad_norm": float(grad_norm),
                        "tokens_per_second": window_tokens / max(now - window_start, 1e-9),
                    }
                )
                loss_sum, loss_count = torch.zeros((), device=self.device), 0
                window_start, window_tokens = now, 0
            if eval_rows is not None and cfg.eval_steps and state.step % cfg.eval_steps == 0:
                state.eval_loss = evaluate(self.model, eval_rows, cfg, self.device, self.amp_dtype)
                self.last_eval_step = state.step
                cb.on_evaluate(state.step, state.eval_loss, state.step / steps_per_epoch)
            run_seconds = time.perf_counter() - run_start
            saved = cfg.save_steps and state.step % cfg.save_steps == 0 and state.step < total_steps
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
            if stopped == "paused" and not saved:
                # A paused run resumes from its newest checkpoint: write one for this step.
                self._checkpoint(checkpoints, state, time.perf_counter() - run_start)
        run_seconds = time.perf_counter() - run_start
        state.elapsed_seconds += run_seconds
        return stopped, train_loss, run_tokens, run_seconds

    def _step(self, rows, micro_batches):
        """One optimizer step over some micro-batches: loss (a device tensor), tokens, grad norm."""
        total_loss, tokens = torch.zeros((), device=self.device), 0
        for index in micro_batches:
            input_ids, labels, mask, n = data.collate(rows, index, self.device)
            with _autocast(self.device, self.amp_dtype):
                loss = self.forward(
                    input_ids=input_ids, attention_mask=mask, labels=labels, use_cache=False
                ).loss
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

    def _checkpoint(self, checkpoints, state, run_seconds):
        snapshot = _State(
            state.step, state.tokens_seen, state.elapsed_seconds + run_seconds, state.eval_loss
        )
        path, size = save_checkpoint(
            checkpoints, self.model, self.optimizer, self.scheduler, self.scaler, snapshot
        )
        self.cb.on_checkpoint(state.step, str(path), size, state.eval_loss)
        for step, old in prune_checkpoints(checkpoints, keep=self.cfg.save_total_limit):
            self.cb.on_checkpoint_removed(step, str(old))


# --- Data ---------------------------------------------------------------------------------


def prepare_rows(cfg, tokenizer, train_examples, eval_examples):
    """Training and validation rows, plus warnings worth telling the user."""
    warnings = []
    eval_rows = None
    packed_holdout = eval_examples is None and cfg.kind == "text"
    if eval_examples is None and not packed_holdout:
        train_examples, eval_examples = data.split_holdout(
            train_examples, fraction=cfg.validation_fraction, seed=cfg.seed
        )
    train_rows, dropped = data.build_rows(
        train_examples, tokenizer, kind=cfg.kind, block_size=cfg.max_seq_length
    )
    if packed_holdout:
        train_rows, eval_rows = data.split_rows(
            train_rows, fraction=cfg.validation_fraction, seed=cfg.seed
        )
    if dropped:
        warnings.append(
            f"{dropped} examples left nothing to learn once cut to {cfg.max_seq_length} tokens "
            "and were skipped"
        )
    if not len(train_rows):
        raise ValueError("The dataset has no training rows left after tokenisation")
    if eval_examples:
        eval_rows, _ = data.build_rows(
            eval_examples, tokenizer, kind=cfg.kind, block_size=cfg.max_seq_length
        )
        eval_rows = eval_rows if len(eval_rows) else None
    if eval_rows is None:
        warnings.append(
            "Too little data to hold out a validation split (fewer than 4 examples, or 4 packed "
            "blocks of text): no eval loss will be reported"
        )
    return train_rows, eval_rows, warnings


# --- Model, optimizer, schedule -----------------------------------------------------------


def load_tokenizer(path):
    """The model folder's own tokenizer, else the official GPT-2 one (available offline)."""
    from transformers import AutoTokenizer

    from jobs.training.tokenizer import gpt2_tokenizer  # Django-free

    if not path:
        return gpt2_tokenizer()
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError):  # a folder with weights only: GPT-2 models share one tokenizer
        return gpt2_tokenizer()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def build_model(cfg, tokenizer):
    """Pretrained weights from cfg.model_path, or random ones from cfg.model_config; LoRA on top."""
    from transformers import AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel

    if cfg.model_path:
        try:
            model = AutoModelForCausalLM.from_pretrained(cfg.model_path, dtype=torch.float32)
        except (OSError, ValueError) as exc:
            message = f"The base model could not be loaded from {cfg.model_path}: {exc}"
            raise ModelLoadError(message) from exc
    else:
        config = GPT2Config(
            vocab_size=len(tokenizer),
            bos_token_id=tokenizer.eos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            **cfg.model_config,
        )
        model = GPT2LMHeadModel(config)
    model.config.use_cache = False
    model.loss_type = "ForCausalLM"  # GPT-2 names none; this is the loss it uses anyway
    model.generation_config.pad_token_id = tokenizer.eos_token_id
    if cfg.method == "lora":
        model = _add_lora(model, cfg)
    return model


def _add_lora(model, cfg):
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        task_type="CAUSAL_LM",
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=list(LORA_TARGET_MODULES),
        fan_in_fan_out=True,  # GPT-2 uses Conv1D
    )
    return get_peft_model(model, lora)


def make_optimizer(model, cfg, device):
    """AdamW with the Trainer's grouping: no weight decay on biases and LayerNorm weights."""
    decay, no_decay = [], []
    norm_params = {
        id(p) for m in model.modules() if isinstance(m, torch.nn.LayerNorm) for p in m.parameters()
    }
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if "bias" in name or id(param) in norm_params else decay).append(param)
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    try:
        return torch.optim.AdamW(groups, lr=cfg.learning_rate, fused=True)
    except (RuntimeError, TypeError):  # fused kernels missing for this device or dtype
        return torch.optim.AdamW(groups, lr=cfg.learning_rate)


def make_scheduler(optimizer, cfg, total_steps):
    from transformers import get_scheduler

    name = {"constant": "constant_with_warmup"}.get(cfg.lr_scheduler, cfg.lr_scheduler)
    warmup = math.ceil(total_steps * cfg.warmup_ratio)
    return get_scheduler(name, optimizer, num_warmup_steps=warmup, num_training_steps=total_steps)


@torch.no_grad()
def evaluate(model, rows, cfg, device, amp_dtype):
    """Mean loss per predicted token over the validation rows (uncompiled: no recompiles)."""
    model.eval()
    total, count = 0.0, 0
    for index in data.batches(rows, batch_size=cfg.batch_size, shuffle=False):
        input_ids, labels, mask, _ = data.collate(rows, index, device)
        with _autocast(device, amp_dtype):
            loss = model(
                input_ids=input_ids, attention_mask=mask, labels=labels, use_cache=False
            ).loss
        n = int((labels[:, 1:] != data.IGNORE_INDEX).sum())
        total += float(loss) * n
        count += n
    model.train()
    return total / count if count else None


# --- Checkpoints --------------------------------------------------------------------------


def save_checkpoint(checkpoints, model, optimizer, scheduler, scaler, state):
    """Write into a hidden temporary folder, then rename: a folder named step-N is complete."""
    final = checkpoints / f"step-{state.step:08d}"
    tmp = checkpoints / f".tmp-step-{state.step:08d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    trainable = {
        n: p.detach().cpu().contiguous() for n, p in model.named_parameters() if p.requires_grad
    }
    save_file(trainable, tmp / "weights.safetensors")
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    torch.save(
        {"scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(), "rng": _rng_state()},
        tmp / "trainer.pt",
    )
    (tmp / "state.json").write_text(json.dumps(state.__dict__))
    shutil.rmtree(final, ignore_errors=True)
    os.rename(tmp, final)
    return final, sum(f.stat().st_size for f in final.iterdir())


def complete_checkpoints(checkpoints):
    """Complete checkpoint folders, oldest first."""
    if not checkpoints.is_dir():
        return []
    found = [
        p
        for p in checkpoints.iterdir()
        if p.name.startswith("step-") and (p / "state.json").exists()
    ]
    return sorted(found, key=lambda p: int(p.name.removeprefix("step-")))


def prune_checkpoints(checkpoints, *, keep):
    """Delete the oldest complete checkpoints beyond `keep`; returns [(step, path)] removed."""
    removed = []
    existing = complete_checkpoints(checkpoints)
    for path in existing[: max(0, len(existing) - keep)]:
        shutil.rmtree(path, ignore_errors=True)
        removed.append((int(path.name.removeprefix("step-")), path))
    return removed


def _resume(checkpoints, model, optimizer, scheduler, scaler, state, device):
    """Load the newest complete checkpoint, if any, into everything; returns its step or None."""
    for leftover in checkpoints.glob(".tmp-*") if checkpoints.is_dir() else []:
        shutil.rmtree(leftover, ignore_errors=True)  # a run killed while writing
    existing = complete_checkpoints(checkpoints)
    if not existing:
        return None
    path = existing[-1]
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, tensor in load_file(path / "weights.safetensors").items():
            params[name].copy_(tensor)
    optimizer.load_state_dict(
        torch.load(path / "optimizer.pt", map_location=device, weights_only=True)
    )
    extra = torch.load(path / "trainer.pt", weights_only=True)
    scheduler.load_state_dict(extra["scheduler"])
    scaler.load_state_dict(extra["scaler"])
    _set_rng_state(extra["rng"])
    state.__dict__.update(json.loads((path / "state.json").read_text()))
    return state.step


def _rng_state():
    state = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state):
    random.setstate(tuple(tuple(x) if isinstance(x, list) else x for x in state["python"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _seed_everything(seed):
    random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


# --- Device -------------------------------------------------------------------------------


def _pick_device(name):
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def _pick_precision(precision, device):
    """The autocast dtype, or None for plain fp32."""
    precision = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}.get(precision, precision)
    if precision == "auto":
        bf16_ok = device.type == "cuda" and torch.cuda.is_bf16_supported()
        precision = "bf16" if bf16_ok else ("fp16" if device.type == "cuda" else "fp32")
    return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)


def _autocast(device, amp_dtype):
    return torch.autocast(device.type, dtype=amp_dtype) if amp_dtype else nullcontext()


def _use_compile(cfg, device):
    if cfg.compile == "auto":
        return device.type == "cuda"
    return str(cfg.compile).lower() in ("1", "true", "yes", "on")


def _device_name(device):
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def _peak_memory(device):
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # Linux reports KiB


def available_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _choose_num_threads(cfg, model, rows):
    """Time one forward+backward on two rows with 1 thread and with all; keep the faster.

    Small models on small machines often run faster on one thread: the work per operation is
    too small to pay for splitting it. Random state is left untouched."""
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
        return cfg.num_threads
    candidates = sorted({1, available_cpus()})
    index = torch.arange(min(2, len(rows)))
    timings = {}
    with torch.random.fork_rng(devices=[]):
        for n in candidates:
            torch.set_num_threads(n)
            input_ids, labels, mask, _ = data.collate(rows, index, torch.device("cpu"))
            for _ in range(2):  # the first pass warms up allocators and kernels
                start = time.perf_counter()
                model(
                    input_ids=input_ids, attention_mask=mask, labels=labels, use_cache=False
                ).loss.backward()
                timings[n] = time.perf_counter() - start
    model.zero_grad(set_to_none=True)
    best = min(timings, key=timings.get)
    torch.set_num_threads(best)
    return best
