"""The hyperparameters a job has: their names in the order pages show them, the types and ranges
a user may fix, and the check of a request's fixed values. Auto-configuration (rules.py) chooses
every value the user leaves out; forms and the API derive their fields from here.
"""

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from rest_framework import serializers

from jobs.engine.constants import LORA_HYPERPARAMETERS
from tunerproject import serializers as strict

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
    "early_stopping_patience",
    "early_stopping_min_delta",
    "exported_model",
    "seed",
    "precision",
    *LORA_HYPERPARAMETERS,
]


class HyperparametersSerializer(strict.Serializer):
    """Types and ranges of the values a user may fix; a null means "choose for me"."""

    closed = True  # any other name is refused (requested_hyperparameters)

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
    early_stopping_patience = serializers.IntegerField(
        min_value=0,
        max_value=1000,
        required=False,
        allow_null=True,
        help_text="Evaluations without improvement that stop the run; 0 never stops early.",
    )
    early_stopping_min_delta = serializers.FloatField(
        min_value=0,
        max_value=10,
        required=False,
        allow_null=True,
        help_text="The least drop in eval loss that counts as an improvement.",
    )
    exported_model = serializers.ChoiceField(
        ["best", "last"],
        required=False,
        allow_null=True,
        help_text="Export the weights of the lowest eval loss (best) or of the last step.",
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


def validate_requested(requested: Mapping[str, Any] | None) -> dict[str, Any]:
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
