"""Auto-configuration's rules: one function per hyperparameter, each returning (value, reason).

They run in the order of RULES, each reading the Context: the data's lengths, the model, the
worker, and the values earlier rules (or the user) chose. autoconfig.resolve runs them.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from jobs.engine.constants import holdout_count
from jobs.models import BaseModel, Dataset, Job
from jobs.planning import estimates
from jobs.planning.hyperparameters import HYPERPARAMETERS
from jobs.planning.lengths import Lengths, Split

# The rules' targets.
PASSES_RANGE = (100, 25_000)  # rows × epochs: enough passes to learn, few enough to finish
DEFAULT_EPOCHS = 3
MAX_AUTO_EPOCHS = 20
LENGTH_COVERAGE = 0.99  # share of examples that must fit in max_seq_length
MIN_STEPS_PER_EPOCH = 8
EFFECTIVE_BATCH = 32  # sequences per optimizer step, reached by gradient accumulation
TARGET_EVALUATIONS = 10
EVAL_TIME_SHARE = 0.10  # evaluation may take at most this share of the training compute
TARGET_CHECKPOINTS = 4
MEMORY_HEADROOM = 0.8  # auto-chosen batches use at most this share of the device's memory
MIN_PACKED_LENGTH = 128  # packed text: a shorter window would only add steps
MIN_EVALUATIONS_FOR_EARLY_STOPPING = 6  # fewer cannot tell a plateau from noise
EARLY_STOPPING_PATIENCE = 3  # evaluations in a row without a lower eval loss
EARLY_STOPPING_MIN_DELTA = 0.001


@dataclass
class Context:
    """Everything a rule reads: the job's inputs, the worker, and the values chosen so far."""

    dataset: Dataset
    validation_dataset: Dataset | None
    base_model: BaseModel
    method: str
    pretrained: bool
    device: dict[str, Any]  # devices.device_profile
    fixed: dict[str, Any]  # the values the user set
    hp: dict[str, Any] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    memory_factor: float | None = None  # measured / modelled peaks of this model, read once

    @property
    def kind(self) -> str:
        return self.dataset.kind or Dataset.Kind.TEXT

    @property
    def packed(self) -> bool:
        return self.kind == Dataset.Kind.TEXT

    def train_and_eval_lengths(self) -> tuple[Lengths, Lengths | None]:
        """Lengths of the training and held-out examples; packed text is held out later, by
        block (see splits), so all of it is training text here."""
        n = self.dataset.num_examples
        if self.validation_dataset is not None:
            return Lengths.of(self.dataset), Lengths.of(self.validation_dataset)
        held = holdout_count(n)
        if not held or self.packed:
            return Lengths.of(self.dataset), None
        return Lengths.of(self.dataset, (n - held) / n), Lengths.of(self.dataset, held / n)

    def splits(self, seq: int | None = None) -> tuple[Split, Split | None]:
        seq = seq or self.hp["max_seq_length"]
        train, held = self.train_and_eval_lengths()
        if self.packed and self.validation_dataset is None:
            return Split.make(train, kind=self.kind, seq=seq).hold_out_blocks()
        evaluation = Split.make(held, kind=self.kind, seq=seq) if held is not None else None
        return Split.make(train, kind=self.kind, seq=seq), evaluation

    def steps_per_epoch(self, batch: int | None = None, accum: int | None = None) -> int:
        batch = batch or self.hp["batch_size"]
        accum = accum or self.hp["gradient_accumulation_steps"]
        train, _ = self.splits()
        return max(1, math.ceil(math.ceil(train.rows / batch) / accum))

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch() * self.hp["epochs"]

    def memory(self, batch: int) -> float:
        if self.memory_factor is None:
            self.memory_factor = estimates.memory_factor(
                base_model=self.base_model, method=self.method, profile=self.device
            )
        return self.memory_factor * estimates.job_memory_bytes(
            base_model=self.base_model,
            method=self.method,
            hyperparameters={**self.hp, "batch_size": batch},
            device_kind=self.device["kind"],
            data_tokens=self.data_tokens,
        )

    @property
    def data_tokens(self) -> int:
        """Tokens of every dataset the worker loads (the CPU memory model counts them)."""
        extra = self.validation_dataset.total_tokens if self.validation_dataset is not None else 0
        return self.dataset.total_tokens + extra


# --- The rules, in the order they run (later rules read earlier values) --------------------


def _precision(ctx: Context) -> tuple[str, str]:
    if ctx.device["bf16"] and ctx.device["family"] == "cpu":
        return "bf16", (
            "bf16: the CPU has bf16 instructions; about 1.3x the speed of fp32 (loss in fp32)"
        )
    if ctx.device["bf16"]:
        return "bf16", f"bf16: the {ctx.device['kind']} worker supports it; twice the speed of fp32"
    if ctx.device["family"] == "cpu":
        return "fp32", "fp32: this machine's CPU has no bf16 instructions (bf16 would be emulated)"
    return "fp32", f"fp32: {ctx.device['kind']} workers train in full precision"


def _max_seq_length(ctx: Context) -> tuple[int, str]:
    """The smallest power of two that 99% of examples fit in, within the model's context."""
    train, _ = ctx.train_and_eval_lengths()
    context = ctx.base_model.context_length
    length = 16
    while length < context and train.share_within(length) < LENGTH_COVERAGE:
        length *= 2
    length = min(length, context)
    if ctx.packed:
        return _packed_seq_length(ctx, train, length)
    share = train.share_within(length)
    if share < LENGTH_COVERAGE:
        return (
            length,
            f"max length {length}: the model's context; {_pct(1 - share)} of examples are cut",
        )
    return (
        length,
        f"max length {length}: {_pct(share)} of examples fit (longest example "
        f"{train.longest:,} tokens, end-of-text included)",
    )


def _packed_seq_length(ctx: Context, train: Lengths, covering: int) -> tuple[int, str]:
    """Packed text fills every block, so a window of at least MIN_PACKED_LENGTH costs no
    padding; it must still make 32 blocks or more (about 29 once a tenth is held out for
    validation), so an epoch makes a few batches."""
    context = ctx.base_model.context_length
    stream = train.total_tokens + train.count
    enough_blocks = max(16, _power_of_two_at_most(stream / 32))
    length = min(max(covering, MIN_PACKED_LENGTH), context, enough_blocks)
    if length == enough_blocks and length < min(max(covering, MIN_PACKED_LENGTH), context):
        return (
            length,
            f"max length {length}: {stream:,.0f} tokens of text still make 32+ packed blocks",
        )
    if length == context:
        return (
            length,
            f"max length {length}: the model's context; texts are packed into full blocks",
        )
    return (
        length,
        f"max length {length}: packed blocks; "
        f"{_pct(train.share_within(length))} of texts fit whole",
    )


def _lora_r(ctx: Context) -> tuple[int | None, str]:
    if ctx.method != Job.Method.LORA:
        return None, "not used: full fine-tuning trains every weight"
    rank = 16 if ctx.base_model.parameters > 300e6 else 8
    return rank, f"rank {rank}: enough capacity for a {_params(ctx.base_model)} model"


def _lora_alpha(ctx: Context) -> tuple[int | None, str]:
    if ctx.method != Job.Method.LORA:
        return None, "not used: full fine-tuning"
    return 2 * ctx.hp["lora_r"], f"alpha {2 * ctx.hp['lora_r']}: twice the rank, the usual scaling"


def _lora_dropout(ctx: Context) -> tuple[float | None, str]:
    if ctx.method != Job.Method.LORA:
        return None, "not used: full fine-tuning"
    if ctx.dataset.num_examples < 1000:
        return (
            0.1,
            f"dropout 0.1: only {ctx.dataset.num_examples:,} examples, so more regularisation",
        )
    return 0.05, f"dropout 0.05: {ctx.dataset.num_examples:,} examples"


def _batch_size(ctx: Context) -> tuple[int, str]:
    """The device's usual batch, halved until it leaves enough steps and fits in memory."""
    train, _ = ctx.splits()
    usual = ctx.device["batch"]
    by_rows = _power_of_two_at_most(max(1, train.rows / MIN_STEPS_PER_EPOCH))
    batch = min(usual, by_rows)
    limit = MEMORY_HEADROOM * ctx.device["memory_bytes"]
    while batch > 1 and ctx.memory(batch) > limit:
        batch //= 2
    need = bytes_text(ctx.memory(batch))
    seq = ctx.hp["max_seq_length"]
    if batch < min(usual, by_rows):
        return batch, f"batch {batch}: the largest that fits; {batch} × {seq} tokens need {need}"
    if by_rows < usual:
        return (
            batch,
            f"batch {batch}: keeps {MIN_STEPS_PER_EPOCH}+ batches per epoch "
            f"over {train.rows:,} rows",
        )
    return (
        batch,
        f"batch {batch}: usual on {ctx.device['kind']}; {batch} × {seq} tokens need {need}",
    )


def _gradient_accumulation_steps(ctx: Context) -> tuple[int, str]:
    train, _ = ctx.splits()
    batch = ctx.hp["batch_size"]
    wanted = max(1, EFFECTIVE_BATCH // batch)
    room = max(1, math.ceil(train.rows / batch) // MIN_STEPS_PER_EPOCH)
    accum = min(wanted, _power_of_two_at_most(room))
    if accum == wanted and accum > 1:
        return accum, f"{accum}: an effective batch of {accum * batch} sequences per step"
    if accum == wanted:
        return 1, f"1: batch {batch} already reaches an effective batch of {EFFECTIVE_BATCH}"
    return accum, f"{accum}: more would leave fewer than {MIN_STEPS_PER_EPOCH} steps per epoch"


def _epochs(ctx: Context) -> tuple[int, str]:
    train, _ = ctx.splits()
    rows, (low, high) = max(train.rows, 1), PASSES_RANGE
    what = "packed blocks" if ctx.packed else "examples"
    epochs = DEFAULT_EPOCHS
    if rows * epochs > high:
        epochs = max(1, high // rows)
    elif rows * epochs < low:
        epochs = min(MAX_AUTO_EPOCHS, math.ceil(low / rows))
    passes = rows * epochs
    within = "stays within" if low <= passes <= high else "is the nearest to"
    unit = "epoch" if epochs == 1 else "epochs"
    return epochs, f"{epochs} {unit}: {rows:,} {what} × {epochs} passes {within} {low:,}–{high:,}"


def _learning_rate(ctx: Context) -> tuple[float, str]:
    params, size = ctx.base_model.parameters, _params(ctx.base_model)
    if ctx.method == Job.Method.LORA:
        lr = 1e-3 if not ctx.pretrained else (2e-4 if params <= 400e6 else 1e-4)
        return (
            lr,
            f"{lr:g}: LoRA adapters on a {size} model take a higher rate than full fine-tuning",
        )
    if not ctx.pretrained:
        lr = 1e-3 if params <= 10e6 else (6e-4 if params <= 60e6 else 3e-4)
        return lr, f"{lr:g}: training a {size} model from random weights"
    lr = (
        5e-5
        if params <= 150e6
        else (3e-5 if params <= 400e6 else (2e-5 if params <= 800e6 else 1e-5))
    )
    return lr, f"{lr:g}: full fine-tuning of a pretrained {size} model (larger models want less)"


def _warmup_ratio(ctx: Context) -> tuple[float, str]:
    ratio = 0.05 if ctx.pretrained else 0.1
    steps = math.ceil(ctx.total_steps * ratio)
    why = (
        "pretrained weights need little" if ctx.pretrained else "random weights need a gentle start"
    )
    return ratio, f"{ratio:g} ({steps} of {ctx.total_steps:,} steps): {why}"


def _weight_decay(ctx: Context) -> tuple[float, str]:
    if ctx.method == Job.Method.LORA:
        return 0.0, "0: LoRA adapters are small and start at zero"
    if not ctx.pretrained:
        return 0.1, "0.1: the usual regularisation when training from scratch"
    return 0.01, "0.01: light regularisation for fine-tuning"


def _lr_scheduler(ctx: Context) -> tuple[str, str]:
    if ctx.total_steps < 50:
        return "linear", f"linear: {ctx.total_steps} steps is a short run"
    return "cosine", f"cosine: decays smoothly over {ctx.total_steps:,} steps"


def _eval_steps(ctx: Context) -> tuple[int, str]:
    """About ten evaluations, fewer when one pass over the validation rows is expensive."""
    train, evaluation = ctx.splits()
    steps = ctx.total_steps
    if evaluation is None or not evaluation.rows:
        return 0, "0: too little data to hold out a validation split"
    batch = ctx.hp["batch_size"]
    # A forward pass costs about a third of a training step per token.
    training = train.compute_tokens(batch) * ctx.hp["epochs"]
    one_pass = evaluation.compute_tokens(batch) / 3
    affordable = int(EVAL_TIME_SHARE * training / one_pass) if one_pass else TARGET_EVALUATIONS
    count = max(1, min(TARGET_EVALUATIONS, affordable, steps))
    every = math.ceil(steps / count)
    source = (
        "the validation dataset" if ctx.validation_dataset else f"{evaluation.rows:,} held-out rows"
    )
    done = steps // every
    return (
        every,
        f"every {every:,} steps: {done} evaluation{'s' if done != 1 else ''} on {source} "
        f"over {steps:,} steps",
    )


def _save_steps(ctx: Context) -> tuple[int, str]:
    steps, every_eval = ctx.total_steps, ctx.hp["eval_steps"]
    base = every_eval or max(1, math.ceil(steps / TARGET_EVALUATIONS))
    evaluations = max(1, steps // base)
    every = base * max(1, math.ceil(evaluations / TARGET_CHECKPOINTS))
    count = (steps - 1) // every
    if count < 1:
        return every, f"every {every:,} steps: the run is short, only the final model is saved"
    kept = settings.JOB_CHECKPOINTS_KEPT
    on_disk = "all kept" if count <= kept else f"the newest {kept} kept"
    return every, (
        f"every {every:,} steps: {count} checkpoint{'s' if count != 1 else ''} over the run, "
        f"{on_disk} to resume from if the worker stops"
    )


def _early_stopping_patience(ctx: Context) -> tuple[int, str]:
    """On when there are enough evaluations for a plateau to show: three without improvement."""
    every = ctx.hp["eval_steps"]
    if not every:
        return 0, "0 (off): no validation data, so nothing to judge improvement by"
    evaluations = ctx.total_steps // every
    if evaluations < MIN_EVALUATIONS_FOR_EARLY_STOPPING:
        return 0, (
            f"0 (off): {evaluations} evaluation{'s' if evaluations != 1 else ''} planned, "
            f"too few to tell a plateau from noise"
        )
    return EARLY_STOPPING_PATIENCE, (
        f"{EARLY_STOPPING_PATIENCE}: the run stops after {EARLY_STOPPING_PATIENCE} evaluations "
        f"({EARLY_STOPPING_PATIENCE * every:,} steps) without a lower eval loss"
    )


def _early_stopping_min_delta(ctx: Context) -> tuple[float, str]:
    if not ctx.hp["early_stopping_patience"]:
        return 0.0, "0: early stopping is off"
    return EARLY_STOPPING_MIN_DELTA, (
        f"{EARLY_STOPPING_MIN_DELTA:g}: a smaller drop in eval loss is noise, not improvement"
    )


def _exported_model(ctx: Context) -> tuple[str, str]:
    if not ctx.hp["eval_steps"]:
        return "last", "last: without validation data there is no best model to pick"
    source = "the validation dataset" if ctx.validation_dataset else "the held-out rows"
    return "best", (
        f"best: the weights with the lowest eval loss on {source}, kept in a checkpoint "
        "that is never pruned"
    )


def _seed(ctx: Context) -> tuple[int, str]:
    return 42, "42: fixed, so running the same job again gives the same model"


# Each rule: the Context in, (value, reason) out.
RULES: dict[str, Callable[[Context], tuple[Any, str]]] = {
    "precision": _precision,
    "max_seq_length": _max_seq_length,
    "lora_r": _lora_r,
    "lora_alpha": _lora_alpha,
    "lora_dropout": _lora_dropout,
    "batch_size": _batch_size,
    "gradient_accumulation_steps": _gradient_accumulation_steps,
    "epochs": _epochs,
    "learning_rate": _learning_rate,
    "warmup_ratio": _warmup_ratio,
    "weight_decay": _weight_decay,
    "lr_scheduler": _lr_scheduler,
    "eval_steps": _eval_steps,
    "save_steps": _save_steps,
    "early_stopping_patience": _early_stopping_patience,
    "early_stopping_min_delta": _early_stopping_min_delta,
    "exported_model": _exported_model,
    "seed": _seed,
}
assert sorted(RULES) == sorted(HYPERPARAMETERS)


# --- Wording --------------------------------------------------------------------------------


def _power_of_two_at_most(value: float) -> int:
    return 2 ** max(0, int(math.floor(math.log2(max(value, 1)))))


def _pct(share: float) -> str:
    return (
        f"{100 * share:.0f}%" if 0.01 <= share <= 0.99 or share in (0, 1) else f"{100 * share:.1f}%"
    )


def _params(base_model: BaseModel) -> str:
    n = base_model.parameters
    return f"{n / 1e9:.1f}B-parameter" if n >= 1e9 else f"{n / 1e6:.0f}M-parameter"


def bytes_text(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"
