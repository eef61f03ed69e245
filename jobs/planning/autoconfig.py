"""Auto-configuration: every hyperparameter of a job, each with a one-line reason.

A value the user fixed wins (its reason says "set by you"); every other value follows from the
data (its token-length histogram, how many rows it makes), the model (size, context, whether
its weights are pretrained) and the worker (device memory, bf16 support). Combinations that
cannot work are refused with field errors before anything is queued.

The step and token counts mirror what the training engine (jobs/training/) does with the same
settings: plain text is packed into blocks of max_seq_length (each text followed by an EOS),
other kinds keep one example per row cut to max_seq_length; without a validation dataset 10%
of the examples (at most 1,000) are held out, or for packed text 10% of the blocks; an epoch is
ceil(ceil(rows / batch) / accum) optimizer steps.

Contract:
    resolve(*, dataset, base_model, method, requested, validation_dataset=None, parent_job=None,
            device_kind=None)
    -> {"hyperparameters": {all 15 names}, "reasons": {name: reason}, "fixed": [names],
        "total_steps": int, "total_tokens": int, "plan": {...inputs of the time estimate...}}
    raises ValidationError({"hyperparameters.<name>" | "hyperparameters" | field: [message]}).
    Pass parent_job when continuing a finished job (its weights are trained, not random) and
    the plan to jobs.planning.estimates.estimate_job(plan=...) (padding and evaluation work).
    job_estimate(...) does both for the estimate endpoint, without launching anything.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from rest_framework import serializers

from jobs.catalog.catalog import resolve_base_model
from jobs.constants import LORA_HYPERPARAMETERS, holdout_count
from jobs.models import BaseModel, Dataset, Job
from jobs.planning import estimates

HYPERPARAMETERS = [
    "epochs",
    "learning_rate",
    "batch_size",
    "gradient_accumulation_steps",
    "max_seq_length",
    "warmup_ratio",
    "weight_decay",
    "lr_scheduler",
    "eval_steps",
    "save_steps",
    "seed",
    "precision",
    "lora_r",
    "lora_alpha",
    "lora_dropout",
]

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


class HyperparametersSerializer(serializers.Serializer):
    """Types and ranges of the values a user may fix; a null means "choose for me"."""

    epochs = serializers.IntegerField(min_value=1, max_value=100, required=False, allow_null=True)
    learning_rate = serializers.FloatField(
        min_value=1e-6, max_value=1e-2, required=False, allow_null=True
    )
    batch_size = serializers.IntegerField(
        min_value=1, max_value=512, required=False, allow_null=True
    )
    gradient_accumulation_steps = serializers.IntegerField(
        min_value=1, max_value=1024, required=False, allow_null=True
    )
    max_seq_length = serializers.IntegerField(
        min_value=8, max_value=65536, required=False, allow_null=True
    )
    warmup_ratio = serializers.FloatField(
        min_value=0, max_value=0.5, required=False, allow_null=True
    )
    weight_decay = serializers.FloatField(min_value=0, max_value=1, required=False, allow_null=True)
    lr_scheduler = serializers.ChoiceField(
        ["linear", "cosine", "constant"], required=False, allow_null=True
    )
    eval_steps = serializers.IntegerField(
        min_value=0, max_value=10**7, required=False, allow_null=True
    )
    save_steps = serializers.IntegerField(
        min_value=0, max_value=10**7, required=False, allow_null=True
    )
    seed = serializers.IntegerField(
        min_value=0, max_value=2**31 - 1, required=False, allow_null=True
    )
    precision = serializers.ChoiceField(["fp32", "bf16", "fp16"], required=False, allow_null=True)
    lora_r = serializers.IntegerField(min_value=1, max_value=256, required=False, allow_null=True)
    lora_alpha = serializers.IntegerField(
        min_value=1, max_value=4096, required=False, allow_null=True
    )
    lora_dropout = serializers.FloatField(
        min_value=0, max_value=0.9, required=False, allow_null=True
    )


# --- What the rules look at ---------------------------------------------------------------


@dataclass(frozen=True)
class Lengths:
    """Token lengths of a set of examples: (length, count) pairs, from the dataset's histogram."""

    pairs: tuple
    total_tokens: int

    @classmethod
    def of(cls, dataset, share=1.0):
        stats = dataset.stats or {}
        bins = [b for b in stats.get("histogram") or [] if b.get("count")]
        if bins:
            pairs = tuple(
                ((b["start"] + b["end"]) / 2, b["count"] * share, b["start"], b["end"])
                for b in bins
            )
        else:  # no histogram: every example has the mean length
            mean = dataset.total_tokens / max(dataset.num_examples, 1)
            pairs = ((mean, dataset.num_examples * share, mean, mean),)
        return cls(pairs=pairs, total_tokens=dataset.total_tokens * share)

    @property
    def count(self):
        return sum(p[1] for p in self.pairs)

    @property
    def longest(self):
        return max((p[3] for p in self.pairs), default=0)

    def share_within(self, limit):
        """Share of examples of at most `limit` tokens (uniform within a histogram bin)."""
        inside = 0.0
        for _, count, start, end in self.pairs:
            width = end - start + 1
            inside += (
                count * min(1.0, max(0.0, (limit - start + 1) / width))
                if width > 0
                else count * (start <= limit)
            )
        return inside / self.count if self.count else 1.0

    def tokens_cut_to(self, limit):
        """Tokens left once every example is cut to `limit`."""
        excess = sum(count * max(0.0, mid - limit) for mid, count, _, _ in self.pairs)
        return max(0.0, self.total_tokens - excess)

    def expected_longest_of(self, batch, limit):
        """Expected length of the longest of `batch` random examples, cut to `limit`: a batch
        is padded to its longest row, so this is the width the model computes on."""
        total, below, expected = self.count, 0.0, 0.0
        for mid, count, _, _ in sorted(self.pairs):
            before = (below / total) ** batch
            below += count
            expected += ((below / total) ** batch - before) * min(mid, limit)
        return expected


@dataclass
class Split:
    """Rows the engine makes from one split at a given max_seq_length."""

    rows: int
    tokens: float  # real tokens per pass
    width: Callable[[int], float]  # batch size -> padded width of a batch

    @classmethod
    def make(cls, lengths, *, kind, seq):
        if kind == Dataset.Kind.TEXT or not kind:
            stream = lengths.total_tokens + lengths.count  # an EOS after each text
            # Blocks of seq tokens; a last block of one token has nothing to predict (data.pack).
            rows = int(stream // seq) + (stream % seq > 1)
            return cls(rows=rows, tokens=stream, width=lambda batch: min(seq, stream))
        return cls(
            rows=round(lengths.count),
            tokens=lengths.tokens_cut_to(seq),
            width=lambda batch: lengths.expected_longest_of(batch, seq),
        )

    def hold_out_blocks(self):
        """(train, held-out or None): the engine's split of packed blocks (data.split_rows)."""
        held = holdout_count(self.rows)
        if not held:
            return self, None
        share = held / self.rows
        train = Split(rows=self.rows - held, tokens=self.tokens * (1 - share), width=self.width)
        return train, Split(rows=held, tokens=self.tokens * share, width=self.width)

    def compute_tokens(self, batch):
        """Tokens the model runs on per pass, padding included."""
        return math.ceil(self.rows / batch) * batch * self.width(batch) if self.rows else 0


@dataclass
class Context:
    dataset: object
    validation_dataset: object
    base_model: object
    method: str
    pretrained: bool
    device: dict
    fixed: dict
    hp: dict = field(default_factory=dict)
    reasons: dict = field(default_factory=dict)
    memory_factor: float | None = None  # measured / modelled peaks of this model, read once

    @property
    def kind(self):
        return self.dataset.kind or Dataset.Kind.TEXT

    @property
    def packed(self):
        return self.kind == Dataset.Kind.TEXT

    def train_and_eval_lengths(self):
        """Lengths of the training and held-out examples; packed text is held out later, by
        block (see splits), so all of it is training text here."""
        n = self.dataset.num_examples
        if self.validation_dataset is not None:
            return Lengths.of(self.dataset), Lengths.of(self.validation_dataset)
        held = holdout_count(n)
        if not held or self.packed:
            return Lengths.of(self.dataset), None
        return Lengths.of(self.dataset, (n - held) / n), Lengths.of(self.dataset, held / n)

    def splits(self, seq=None):
        seq = seq or self.hp["max_seq_length"]
        train, held = self.train_and_eval_lengths()
        if self.packed and self.validation_dataset is None:
            return Split.make(train, kind=self.kind, seq=seq).hold_out_blocks()
        evaluation = Split.make(held, kind=self.kind, seq=seq) if held is not None else None
        return Split.make(train, kind=self.kind, seq=seq), evaluation

    def steps_per_epoch(self, batch=None, accum=None):
        batch = batch or self.hp["batch_size"]
        accum = accum or self.hp["gradient_accumulation_steps"]
        train, _ = self.splits()
        return max(1, math.ceil(math.ceil(train.rows / batch) / accum))

    @property
    def total_steps(self):
        return self.steps_per_epoch() * self.hp["epochs"]

    def memory(self, batch):
        if self.memory_factor is None:
            self.memory_factor = estimates.memory_factor(
                base_model=self.base_model, method=self.method, profile=self.device
            )
        return self.memory_factor * estimates.peak_memory_bytes(
            base_model=self.base_model,
            method=self.method,
            batch_size=batch,
            max_seq_length=self.hp["max_seq_length"],
            precision=self.hp["precision"],
            lora_r=self.hp.get("lora_r") or 8,
            device_kind=self.device["kind"],
            data_tokens=_data_tokens(self),
        )


# --- The rules, in the order they run (later rules read earlier values) --------------------


def _precision(ctx):
    if ctx.device["bf16"]:
        return "bf16", f"bf16: the {ctx.device['kind']} worker supports it; twice the speed of fp32"
    return "fp32", f"fp32: {ctx.device['kind']} workers train in full precision"


def _max_seq_length(ctx):
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
        f"max length {length}: {_pct(share)} of examples fit (longest {train.longest:,.0f} tokens)",
    )


def _packed_seq_length(ctx, train, covering):
    """Packed text fills every block, so a window of at least 128 costs no padding; it must
    still make 32 blocks or more (about 29 once a tenth is held out for validation), so an
    epoch makes a few batches."""
    context = ctx.base_model.context_length
    stream = train.total_tokens + train.count
    enough_blocks = max(16, _power_of_two_at_most(stream / 32))
    length = min(max(covering, 128), context, enough_blocks)
    if length == enough_blocks and length < min(max(covering, 128), context):
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


def _lora_r(ctx):
    if ctx.method != Job.Method.LORA:
        return None, "not used: full fine-tuning trains every weight"
    rank = 16 if ctx.base_model.parameters > 300e6 else 8
    return rank, f"rank {rank}: enough capacity for a {_params(ctx.base_model)} model"


def _lora_alpha(ctx):
    if ctx.method != Job.Method.LORA:
        return None, "not used: full fine-tuning"
    return 2 * ctx.hp["lora_r"], f"alpha {2 * ctx.hp['lora_r']}: twice the rank, the usual scaling"


def _lora_dropout(ctx):
    if ctx.method != Job.Method.LORA:
        return None, "not used: full fine-tuning"
    if ctx.dataset.num_examples < 1000:
        return (
            0.1,
            f"dropout 0.1: only {ctx.dataset.num_examples:,} examples, so more regularisation",
        )
    return 0.05, f"dropout 0.05: {ctx.dataset.num_examples:,} examples"


def _batch_size(ctx):
    """The device's usual batch, halved until it leaves enough steps and fits in memory."""
    train, _ = ctx.splits()
    usual = ctx.device["batch"]
    by_rows = _power_of_two_at_most(max(1, train.rows / MIN_STEPS_PER_EPOCH))
    batch = min(usual, by_rows)
    limit = MEMORY_HEADROOM * ctx.device["memory_bytes"]
    while batch > 1 and ctx.memory(batch) > limit:
        batch //= 2
    need = _bytes(ctx.memory(batch))
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


def _gradient_accumulation_steps(ctx):
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


def _epochs(ctx):
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


def _learning_rate(ctx):
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


def _warmup_ratio(ctx):
    ratio = 0.05 if ctx.pretrained else 0.1
    steps = math.ceil(ctx.total_steps * ratio)
    why = (
        "pretrained weights need little" if ctx.pretrained else "random weights need a gentle start"
    )
    return ratio, f"{ratio:g} ({steps} of {ctx.total_steps:,} steps): {why}"


def _weight_decay(ctx):
    if ctx.method == Job.Method.LORA:
        return 0.0, "0: LoRA adapters are small and start at zero"
    if not ctx.pretrained:
        return 0.1, "0.1: the usual regularisation when training from scratch"
    return 0.01, "0.01: light regularisation for fine-tuning"


def _lr_scheduler(ctx):
    if ctx.total_steps < 50:
        return "linear", f"linear: {ctx.total_steps} steps is a short run"
    return "cosine", f"cosine: decays smoothly over {ctx.total_steps:,} steps"


def _eval_steps(ctx):
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


def _save_steps(ctx):
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


def _seed(ctx):
    return 42, "42: fixed, so running the same job again gives the same model"


RULES = {
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
    "seed": _seed,
}
assert sorted(RULES) == sorted(HYPERPARAMETERS)


# --- Resolve --------------------------------------------------------------------------------


def resolve(
    *,
    dataset,
    base_model,
    method,
    requested,
    validation_dataset=None,
    parent_job=None,
    device_kind=None,
):
    """1. Check the requested names, types and ranges (the user's fixed values).
    2. Run each rule in order; a fixed value replaces the rule's and says "set by you".
    3. Refuse combinations that cannot work (context, memory, LoRA, precision).
    4. Count the steps and tokens the engine will run, and the plan the time estimate needs."""
    fixed = validate_requested(requested)
    _check_datasets(dataset, validation_dataset)
    ctx = Context(
        dataset=dataset,
        validation_dataset=validation_dataset,
        base_model=base_model,
        method=method,
        pretrained=parent_job is not None or base_model.source != BaseModel.Source.BUILTIN,
        device=estimates.device_profile(device_kind),
        fixed=fixed,
    )
    _check_fixed(ctx)
    for name, rule in RULES.items():
        if name in fixed:
            ctx.hp[name], ctx.reasons[name] = fixed[name], "set by you"
        else:
            ctx.hp[name], ctx.reasons[name] = rule(ctx)
    _check_combination(ctx)
    plan = _plan(ctx)
    return {
        "hyperparameters": {name: ctx.hp[name] for name in HYPERPARAMETERS},
        "reasons": {name: ctx.reasons[name] for name in HYPERPARAMETERS},
        "fixed": [name for name in HYPERPARAMETERS if name in fixed],
        "total_steps": plan["total_steps"],
        "total_tokens": plan["total_tokens"],
        "plan": plan,
    }


def validate_requested(requested):
    """The user's fixed values, typed; ValidationError naming unknown or out-of-range ones."""
    requested = dict(requested or {})
    unknown = sorted(set(requested) - set(HYPERPARAMETERS))
    if unknown:
        raise ValidationError(
            {
                "hyperparameters": [
                    f"Unknown hyperparameter{'s' if len(unknown) > 1 else ''}: "
                    f"{', '.join(unknown)}. "
                    f"Known: {', '.join(HYPERPARAMETERS)}."
                ]
            }
        )
    checked = HyperparametersSerializer(data=requested)
    if not checked.is_valid():
        raise ValidationError(
            {
                f"hyperparameters.{name}": [str(m) for m in messages]
                for name, messages in checked.errors.items()
            }
        )
    return {name: value for name, value in checked.validated_data.items() if value is not None}


def _check_datasets(dataset, validation_dataset):
    if validation_dataset is None:
        return
    if (validation_dataset.kind or "text") != (dataset.kind or "text"):
        raise ValidationError(
            {
                "validation_dataset": [
                    f"It holds {validation_dataset.get_kind_display().lower()} data but the "
                    f"training data is "
                    f"{dataset.get_kind_display().lower()}: they must be the same kind."
                ]
            }
        )


def _check_fixed(ctx):
    """Refusals that depend only on what the user fixed, the model and the worker."""
    errors, fixed, model = {}, ctx.fixed, ctx.base_model
    if ctx.method != Job.Method.LORA:
        for name in LORA_HYPERPARAMETERS:
            if name in fixed:
                errors[f"hyperparameters.{name}"] = [
                    f"{name} applies only to LoRA; this job fine-tunes every weight."
                ]
    if fixed.get("lora_r", 0) > model.hidden_size > 0:
        errors["hyperparameters.lora_r"] = [
            f"A rank of {fixed['lora_r']} is above the model's width of {model.hidden_size}: "
            f"nothing to gain."
        ]
    if fixed.get("max_seq_length", 0) > model.context_length:
        errors["hyperparameters.max_seq_length"] = [
            f"{fixed['max_seq_length']:,} tokens is above {model.display_name}'s context of "
            f"{model.context_length:,} tokens."
        ]
    if (
        fixed.get("precision") in ("bf16", "fp16")
        and not ctx.device["supports"][fixed["precision"]]
    ):
        errors["hyperparameters.precision"] = [
            f"{fixed['precision']} is not available on {ctx.device['kind']} workers; use "
            f"{' or '.join(p for p, ok in ctx.device['supports'].items() if ok)}."
        ]
    if errors:
        raise ValidationError(errors)


def _check_combination(ctx):
    """Refusals that need the resolved values: memory and rows."""
    train, _ = ctx.splits()
    if train.rows < 1:
        raise ValidationError(
            {
                "dataset": [
                    "The dataset leaves no training rows once the validation share is held out."
                ]
            }
        )
    need, have = ctx.memory(ctx.hp["batch_size"]), ctx.device["memory_bytes"]
    if need <= have:
        return
    batch, seq = ctx.hp["batch_size"], ctx.hp["max_seq_length"]
    message = (
        f"A batch of {batch} × {seq:,} tokens needs about {_bytes(need)}; the {ctx.device['kind']} "
        f"worker has {_bytes(have)}. Try a smaller batch_size or max_seq_length, or LoRA."
    )
    for name in ("batch_size", "max_seq_length"):
        if name in ctx.fixed:
            raise ValidationError({f"hyperparameters.{name}": [message]})
    raise ValidationError(
        {
            "base_model": [
                f"{ctx.base_model.display_name} does not fit the worker's memory even with batch 1 "
                f"({_bytes(need)} of {_bytes(have)}): choose LoRA or a smaller model."
            ]
        }
    )


def _plan(ctx):
    """Steps, tokens and the work the time estimate needs, as the engine will run them."""
    hp = ctx.hp
    train, evaluation = ctx.splits()
    per_epoch = ctx.steps_per_epoch()
    total_steps = per_epoch * hp["epochs"]
    evaluations = total_steps // hp["eval_steps"] if hp["eval_steps"] and evaluation else 0
    checkpoints = (total_steps - 1) // hp["save_steps"] if hp["save_steps"] else 0
    return {
        "kind": ctx.kind,
        "train_rows": train.rows,
        "eval_rows": evaluation.rows if evaluation else 0,
        "steps_per_epoch": per_epoch,
        "total_steps": total_steps,
        "total_tokens": round(train.tokens * hp["epochs"]),
        "compute_tokens": round(train.compute_tokens(hp["batch_size"]) * hp["epochs"]),
        "eval_compute_tokens": round(evaluation.compute_tokens(hp["batch_size"]))
        if evaluation
        else 0,
        "micro_batches": math.ceil(train.rows / hp["batch_size"]) * hp["epochs"],
        "evaluations": evaluations,
        "checkpoints": checkpoints,
        "data_tokens": _data_tokens(ctx),
    }


def _data_tokens(ctx):
    extra = ctx.validation_dataset.total_tokens if ctx.validation_dataset is not None else 0
    return ctx.dataset.total_tokens + extra


# --- Wording --------------------------------------------------------------------------------


def _power_of_two_at_most(value):
    return 2 ** max(0, int(math.floor(math.log2(max(value, 1)))))


def _pct(share):
    return (
        f"{100 * share:.0f}%" if 0.01 <= share <= 0.99 or share in (0, 1) else f"{100 * share:.1f}%"
    )


def _params(base_model):
    n = base_model.parameters
    return f"{n / 1e9:.1f}B-parameter" if n >= 1e9 else f"{n / 1e6:.0f}M-parameter"


def _bytes(n):
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


# --- The wizard's question: what would this job be? ----------------------------------------


def job_estimate(
    *, owner, dataset, base_model_key, method, hyperparameters=None, validation_dataset=None
):
    """What job_launch would store, without launching: resolved values, reasons, steps, tokens
    and the estimate. The datasets must already be the owner's (the caller looks them up)."""
    for name, candidate in (("dataset", dataset), ("validation_dataset", validation_dataset)):
        if candidate is not None and not candidate.is_valid:
            raise ValidationError({name: [_not_usable(candidate)]})
    base_model, parent_job = resolve_base_model(owner=owner, key=base_model_key)
    return plan_job(
        dataset=dataset,
        base_model=base_model,
        parent_job=parent_job,
        method=method,
        requested=hyperparameters,
        validation_dataset=validation_dataset,
    )


def plan_job(*, dataset, base_model, parent_job, method, requested, validation_dataset=None):
    """Resolved hyperparameters with reasons, steps, tokens and the estimate: what a job stores."""
    resolved = resolve(
        dataset=dataset,
        base_model=base_model,
        method=method,
        requested=requested,
        validation_dataset=validation_dataset,
        parent_job=parent_job,
    )
    estimate = estimates.estimate_job(
        base_model=base_model,
        method=method,
        hyperparameters=resolved["hyperparameters"],
        total_steps=resolved["total_steps"],
        total_tokens=resolved["total_tokens"],
        plan=resolved["plan"],
    )
    return {**{k: v for k, v in resolved.items() if k != "plan"}, "estimate": estimate}


def _not_usable(dataset):
    if dataset.status == Dataset.Status.VALIDATING:
        return f"The dataset {dataset.name!r} is still being checked; try again in a moment."
    return (
        f"The dataset {dataset.name!r} is invalid ({dataset.error_count:,} "
        f"problem{'s' if dataset.error_count != 1 else ''}): "
        f"see its report for the rows to fix."
    )
