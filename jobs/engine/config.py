"""What a training run is asked (TrainConfig, every field with its default and why) and what it
returns (TrainResult). loop.train takes the one and gives the other."""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

from jobs.engine.constants import DEFAULT_MAX_SEQ_LENGTH, VALIDATION_FRACTION

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

# A transformers causal LM (a GPT2LMHeadModel...), or the peft PeftModel that wraps one for LoRA.
# Any: with transformers' own types mypy rejects ordinary calls on it (`.to(device)` is a
# decorated wrapper there, `.generate` reads as a tensor).
LanguageModel: TypeAlias = Any


@dataclass
class TrainConfig:
    # --- model ----------------------------------------------------------------------------
    model_path: str = ""  # a Hugging Face folder (or hub id) with the weights to start from
    # GPT2Config arguments: random weights
    model_config: dict[str, Any] = field(default_factory=dict)
    tokenizer_path: str = ""  # "" means the official GPT-2 tokenizer, available offline
    method: str = "full"  # "full" trains every weight; "lora" trains low-rank adapters
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    # --- data -----------------------------------------------------------------------------
    kind: str = "text"  # "text" is packed; "prompt_completion" and "chat" keep one example a row
    max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH
    validation_fraction: float = VALIDATION_FRACTION  # held out without validation examples
    # Where tokenised data is kept (data.TokenStore), per dataset and tokenizer, for examples
    # that carry a cache key; "" tokenises into a temporary folder each run.
    data_cache_dir: str = ""
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
    # auto: bf16 autocast on a GPU that supports it and on a CPU with bf16 instructions
    # (cpu_features.py; the chunked head then runs its matmuls in bf16), fp32 on other CPUs.
    precision: str = "auto"
    # --- cadence --------------------------------------------------------------------------
    log_steps: int = 0  # 0: about 50 metric points over the run
    eval_steps: int = 50  # 0: evaluate only at the end
    # Evaluations during training read at most this many validation rows (a fixed subset, so
    # points compare); the final evaluation always reads them all. 0: always all.
    eval_max_rows: int = 256
    save_steps: int = 100  # 0: no intermediate checkpoints
    save_total_limit: int = 2  # older checkpoints are deleted (never the best one)
    # --- early stopping and the exported model (best.py) ----------------------------------
    early_stopping_patience: int = 0  # evaluations without improvement that stop; 0: never
    early_stopping_min_delta: float = 0.0  # a smaller drop in eval loss is no improvement
    exported_model: str = "last"  # "best": the weights of the lowest eval loss are exported
    # --- where and how fast ---------------------------------------------------------------
    output_dir: str = "out"  # checkpoints go to output_dir/checkpoints
    resume: bool = True  # continue from the newest complete checkpoint in output_dir
    device: str = "auto"  # auto, cpu, cuda
    # auto: torch.compile on CUDA only (on a CPU it costs more than it saves); on/off, or a
    # backend name ("aot_eager"). A compiled run pads batches to a few fixed shapes.
    compile: str = "auto"
    num_threads: int = (
        0  # CPU threads; 0 times 1 and all available on the real step, keeps the faster
    )
    # The LM head and its loss in one chunked pass (fused_loss.py): "auto" on a CPU in fp32 or
    # bf16, uncompiled, for GPT-2 models, where the vocabulary's logits dominate a step; on, off.
    fused_loss: str = "auto"


@dataclass
class TrainResult:
    model: LanguageModel  # the trained model, unwrapped (a PeftModel for LoRA)
    tokenizer: "PreTrainedTokenizerBase"
    step: int
    total_steps: int
    stopped: str | None  # the reason when should_stop ended the run early
    train_loss: float | None
    eval_loss: float | None
    # Share of predicted tokens the model's top choice got right, and exp(eval loss).
    train_accuracy: float | None
    eval_accuracy: float | None
    eval_perplexity: float | None
    tokens_seen: int
    seconds: float  # training time over every run of this job, resumed runs included
    tokens_per_second: float
    peak_memory_bytes: int
    device: str  # "cpu" or the CUDA device name
    num_threads: int
    train_rows: int
    eval_rows: int
    warnings: list[str] = field(default_factory=list)
    # Model FLOPs utilisation: tokens/s × FLOPs per token ÷ the device's dense bf16 peak; None
    # on a CPU or a GPU missing from jobs.engine.constants.PEAK_BF16_FLOPS.
    mfu: float | None = None
    best_step: int | None = None  # the evaluation with the lowest eval loss
    best_eval_loss: float | None = None
    exported_step: int | None = None  # whose weights `model` holds: best_step or step
    early_stopped: bool = False  # stopped after early_stopping_patience evaluations
    precision: str = "fp32"  # what the run computed in: fp32, bf16 or fp16 (autocast)


@dataclass
class RunState:
    """Where a run stands: what checkpoints save and resume, and early stopping reads."""

    step: int = 0
    tokens_seen: int = 0
    elapsed_seconds: float = 0.0
    eval_loss: float | None = None
    best_step: int | None = None
    best_eval_loss: float | None = None
    evals_without_improvement: int = 0
    # eval_accuracy, eval_perplexity
    eval_metrics: dict[str, float | None] = field(default_factory=dict)
