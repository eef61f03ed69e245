"""Resolve a job's hyperparameters. PLACEHOLDER interface, replaced by the auto-configuration work.

Contract (keep it):
    resolve(*, dataset, base_model, method, requested) -> dict with
        "hyperparameters": every name in HYPERPARAMETERS resolved,
        "reasons": {name: one-line reason},
        "total_steps": int, "total_tokens": int (tokens the job will train on, all epochs)
    raises django.core.exceptions.ValidationError({field: [message]}) for combinations that
    cannot work.
"""

import math

HYPERPARAMETERS = [
    "epochs", "learning_rate", "batch_size", "gradient_accumulation_steps", "max_seq_length",
    "warmup_ratio", "weight_decay", "lr_scheduler", "eval_steps", "save_steps", "seed",
    "precision", "lora_r", "lora_alpha", "lora_dropout",
]

DEFAULTS = {
    "epochs": 1, "learning_rate": 5e-4, "batch_size": 8, "gradient_accumulation_steps": 1,
    "max_seq_length": 128, "warmup_ratio": 0.05, "weight_decay": 0.01, "lr_scheduler": "cosine",
    "eval_steps": 50, "save_steps": 100, "seed": 42, "precision": "auto", "lora_r": 8,
    "lora_alpha": 16, "lora_dropout": 0.05,
}


def resolve(*, dataset, base_model, method, requested, validation_dataset=None):
    hp = {**DEFAULTS, **{k: v for k, v in (requested or {}).items() if v is not None}}
    examples = max(1, dataset.num_examples)
    per_step = hp["batch_size"] * hp["gradient_accumulation_steps"]
    steps = max(1, math.ceil(examples / per_step)) * hp["epochs"]
    return {
        "hyperparameters": hp,
        "reasons": {k: "default" for k in hp},
        "total_steps": steps,
        "total_tokens": dataset.total_tokens * hp["epochs"],
    }
