"""Portal forms for jobs. The wizard's form mirrors POST /api/v1/jobs/ so both launch alike."""

from django import forms
from django.core.exceptions import ValidationError
from rest_framework import serializers

from jobs.catalog.catalog import catalog_for
from jobs.models import Dataset, Job
from jobs.monitoring.live import parse_int
from jobs.planning.autoconfig import HYPERPARAMETERS, HyperparametersSerializer
from jobs.serializers import MAX_NEW_TOKENS

CHOICE_LABELS = {
    "linear": "Linear decay",
    "cosine": "Cosine",
    "constant": "Constant",
    "fp32": "fp32",
    "bf16": "bf16 (GPUs that support it)",
    "fp16": "fp16 (older GPUs)",
}
HYPERPARAMETER_LABELS = {
    "epochs": "Epochs",
    "learning_rate": "Learning rate",
    "batch_size": "Batch size",
    "gradient_accumulation_steps": "Gradient accumulation steps",
    "max_seq_length": "Max sequence length (tokens)",
    "warmup_ratio": "Warm-up ratio",
    "weight_decay": "Weight decay",
    "lr_scheduler": "Learning-rate schedule",
    "eval_steps": "Evaluate every (steps)",
    "save_steps": "Checkpoint every (steps)",
    "seed": "Seed",
    "precision": "Precision",
    "lora_r": "LoRA rank (r)",
    "lora_alpha": "LoRA alpha",
    "lora_dropout": "LoRA dropout",
}


def _hyperparameter_field(name, rule):
    """A blank-means-auto form field with the type and range auto-config accepts (`rule`)."""
    label = HYPERPARAMETER_LABELS.get(name, name)
    attrs = {
        "placeholder": "auto",
        "data-hyperparameter": name,
        "aria-describedby": f"reason-{name} error-{name}",
    }
    if isinstance(rule, serializers.ChoiceField):
        choices = [("", "Auto")] + [(c, CHOICE_LABELS.get(c, c)) for c in rule.choices]
        return forms.ChoiceField(
            label=label, required=False, choices=choices, widget=forms.Select(attrs=attrs)
        )
    limits = {"min_value": rule.min_value, "max_value": rule.max_value}
    if isinstance(rule, serializers.IntegerField):
        return forms.IntegerField(
            label=label, required=False, widget=forms.NumberInput(attrs=attrs), **limits
        )
    return forms.FloatField(
        label=label,
        required=False,
        widget=forms.NumberInput(attrs={**attrs, "step": "any"}),
        **limits,
    )


class JobLaunchForm(forms.Form):
    name = forms.CharField(
        max_length=200,
        required=False,
        label="Job name (optional)",
        help_text="Left blank, the job is named “<base model> on <dataset>”.",
        widget=forms.TextInput(attrs={"aria-describedby": "help-name error-name"}),
    )
    dataset = forms.ModelChoiceField(
        queryset=Dataset.objects.none(), label="Training dataset", empty_label="Choose a dataset…"
    )
    validation_dataset = forms.ModelChoiceField(
        queryset=Dataset.objects.none(),
        required=False,
        label="Validation dataset (optional)",
        empty_label="None: hold out part of the training data",
    )
    base_model = forms.ChoiceField(label="Base model", widget=forms.RadioSelect)
    method = forms.ChoiceField(
        choices=Job.Method.choices,
        initial=Job.Method.FULL,
        widget=forms.RadioSelect,
        label="Method",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        datasets = Dataset.objects.for_user(user).usable()
        self.fields["dataset"].queryset = datasets
        self.fields["validation_dataset"].queryset = datasets
        self.catalog = catalog_for(user)
        self.fields["base_model"].choices = [
            (m["key"], m["display_name"]) for m in self.catalog if m["available"]
        ]
        available = [m["key"] for m in self.catalog if m["available"]]
        if available and not self.initial.get("base_model"):
            self.initial["base_model"] = available[0]
        rules = HyperparametersSerializer().fields
        for name in HYPERPARAMETERS:
            self.fields[name] = _hyperparameter_field(name, rules[name])

    def hyperparameter_fields(self):
        return [self[name] for name in HYPERPARAMETERS]

    def launch_arguments(self):
        """Keyword arguments for jobs.services.job_launch; blank hyperparameters are auto."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "dataset": data["dataset"],
            "validation_dataset": data.get("validation_dataset"),
            "base_model_key": data["base_model"],
            "method": data["method"],
            "hyperparameters": {
                n: data[n] for n in HYPERPARAMETERS if data.get(n) not in (None, "")
            },
        }

    def add_service_errors(self, exc):
        """Show the service's {field: [messages]} next to the matching fields."""
        errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
        for key, messages in errors.items():
            field = (key or "").removeprefix("hyperparameters.")
            field = {"base_model_key": "base_model"}.get(field, field)
            self.add_error(field if field in self.fields else None, ValidationError(messages))


def launch_initial_from(request):
    """Initial wizard values: a job to clone (?from=ID) or a dataset to train on (?dataset=ID)."""
    initial = {}
    source_id = parse_int(request.GET.get("from"))
    if source_id is not None:
        source = (
            Job.objects.for_user(request.user)
            .filter(pk=source_id)
            .select_related("base_model")
            .first()
        )
        if source:
            initial.update(source.requested_hyperparameters)
            initial.update(
                {
                    "name": f"{source.name} (copy)",
                    "dataset": source.dataset_id,
                    "validation_dataset": source.validation_dataset_id,
                    "base_model": f"job-{source.parent_job_id}"
                    if source.parent_job_id
                    else source.base_model.key,
                    "method": source.method,
                }
            )
    dataset_id = parse_int(request.GET.get("dataset"))
    if dataset_id is not None:
        initial["dataset"] = dataset_id
    return initial


class JobNotesForm(forms.ModelForm):
    class Meta:
        model = Job
        fields = ["name", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}


class PlaygroundForm(forms.Form):
    prompt = forms.CharField(max_length=4000, strip=False, widget=forms.Textarea(attrs={"rows": 4}))
    max_new_tokens = forms.IntegerField(
        min_value=1, max_value=MAX_NEW_TOKENS, initial=64, label="Max new tokens"
    )
    temperature = forms.FloatField(
        min_value=0.0,
        max_value=2.0,
        initial=0.8,
        widget=forms.NumberInput(attrs={"step": "0.05"}),
        help_text="0 always picks the likeliest token.",
    )
    top_p = forms.FloatField(
        min_value=0.01,
        max_value=1.0,
        initial=0.95,
        label="Top-p",
        widget=forms.NumberInput(attrs={"step": "0.01"}),
    )
    compare_base = forms.BooleanField(
        required=False, initial=True, label="Also answer with the base model"
    )
