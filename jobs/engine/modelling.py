"""The model and what trains it: tokenizer, model (pretrained or random, LoRA on top),
optimizer and learning-rate schedule. No Django here."""

import math
from typing import TYPE_CHECKING

import torch

from jobs.engine.config import LanguageModel, TrainConfig
from jobs.engine.constants import LORA_TARGET_MODULES, flops_per_token, padding_token_ids

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


class ModelLoadError(RuntimeError):
    """The base model's weights are missing or unreadable (its message is for the user)."""


def load_tokenizer(path: str) -> "PreTrainedTokenizerBase":
    """The model folder's own tokenizer, else the official GPT-2 one (available offline)."""
    from transformers import AutoTokenizer

    from jobs.engine.tokenizer import gpt2_tokenizer  # Django-free

    if not path:
        return gpt2_tokenizer()
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError):  # a folder with weights only: GPT-2 models share one tokenizer
        return gpt2_tokenizer()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def build_model(
    cfg: "TrainConfig", tokenizer: "PreTrainedTokenizerBase", vocab_size: int | None = None
) -> LanguageModel:
    """Pretrained weights from cfg.model_path, or random ones from cfg.model_config; LoRA on top.

    Random weights get cfg.model_config's vocab_size (built-in models pad it to a multiple of 64)
    unless `vocab_size` overrides it (a run resumed from a checkpoint keeps its shapes); the
    tokenizer's own size when neither says."""
    from transformers import AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel

    model: LanguageModel
    if cfg.model_path:
        try:
            model = AutoModelForCausalLM.from_pretrained(cfg.model_path, dtype=torch.float32)
        except (OSError, ValueError) as exc:
            message = f"The base model could not be loaded from {cfg.model_path}: {exc}"
            raise ModelLoadError(message) from exc
    else:
        shape = {"vocab_size": len(tokenizer), **cfg.model_config}
        shape["vocab_size"] = vocab_size or shape["vocab_size"]
        config = GPT2Config(
            bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id, **shape
        )
        model = GPT2LMHeadModel(config)
    model.config.use_cache = False
    model.loss_type = "ForCausalLM"  # GPT-2 names none; this is the loss it uses anyway
    model.generation_config.pad_token_id = tokenizer.eos_token_id
    # Saved with the model, so whoever generates with it later never gets a padding id either.
    unused = padding_token_ids(model.config.vocab_size, len(tokenizer))
    model.generation_config.suppress_tokens = unused or None
    if cfg.method == "lora":
        model = _add_lora(model, cfg)
    return model


def _add_lora(model: LanguageModel, cfg: "TrainConfig") -> LanguageModel:
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


def make_optimizer(
    model: torch.nn.Module, cfg: "TrainConfig", device: torch.device
) -> torch.optim.Optimizer:
    """AdamW with the Trainer's grouping: no weight decay on biases and LayerNorm weights."""
    decay: list[torch.nn.Parameter]
    no_decay: list[torch.nn.Parameter]
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


def make_scheduler(
    optimizer: torch.optim.Optimizer, cfg: "TrainConfig", total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    from transformers import get_scheduler

    name = {"constant": "constant_with_warmup"}.get(cfg.lr_scheduler, cfg.lr_scheduler)
    warmup = math.ceil(total_steps * cfg.warmup_ratio)
    return get_scheduler(name, optimizer, num_warmup_steps=warmup, num_training_steps=total_steps)


def training_flops_per_token(model: LanguageModel, cfg: "TrainConfig") -> int:
    """FLOPs per trained token of this model at the run's sequence length (for MFU)."""
    config = model.config
    return flops_per_token(
        parameters=sum(p.numel() for p in model.parameters()),
        position_parameters=config.n_positions * config.n_embd,
        n_layer=config.n_layer,
        n_embd=config.n_embd,
        seq=cfg.max_seq_length,
        lora=cfg.method == "lora",
    )
