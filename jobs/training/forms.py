"""Portal forms for jobs, held to the API's definitions so a page and an API client are judged
alike: the playground's fields and the wizard's hyperparameters are made from the serializers
(form_field), the wizard refuses a dataset in Dataset.unusable_reason()'s words, and it launches
through the same service as POST /api/v1/jobs/."""

from django import forms
from django.core.exceptions import ValidationError
from rest_framework import serializers
from rest_framework.fields import empty

from jobs.catalog.services import catalog_for, checkpoint_entry, checkpoint_key
from jobs.models import Dataset, Job
from jobs.planning.hyperparameters import HYPERPARAMETERS, HyperparametersSerializer
from jobs.planning.routing import live_pools
from jobs.sharing import access
from jobs.sharing.forms import show_teams, team_field
from jobs.training.serializers import GenerateRequestSerializer
from tunerproject.ids import parse_int

CHOICE_LABELS = {
    "linear": "Linear decay",
    "cosine": "Cosine",
    "constant": "Constant",
    "fp32": "fp32",
    "bf16": "bf16 (GPUs and CPUs that support it)",
    "fp16": "fp16 (older GPUs)",
    "best": "Best (lowest eval loss)",
    "last": "Last step",
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
    "early_stopping_patience": "Early stopping patience (evaluations)",
    "early_stopping_min_delta": "Early stopping minimum improvement",
    "exported_model": "Exported model",
    "seed": "Seed",
    "precision": "Precision",
    "lora_r": "LoRA rank (r)",
    "lora_alpha": "LoRA alpha",
    "lora_dropout": "LoRA dropout",
}


def form_field(rule, *, required=None, label=None, choice_labels=None, widget_attrs=None):
    """A form field with the type, range, default and label of the serializer field `rule`.

    `required` defaults to the rule's (a value with a default is required on a page, which
    shows the default filled in); a choice field that is not required offers "Auto" first."""
    attrs = widget_attrs or {}
    options = {
        "label": label or rule.label,
        "required": (rule.required or rule.default is not empty) if required is None else required,
        "help_text": rule.help_text or "",
    }
    if rule.default is not empty:
        options["initial"] = rule.default
    if isinstance(rule, serializers.BooleanField):
        return forms.BooleanField(**{**options, "required": False})
    if isinstance(rule, serializers.ChoiceField):
        labels = choice_labels or {}
        choices = [] if options["required"] else [("", "Auto")]
        choices += [(value, labels.get(value, text)) for value, text in rule.choices.items()]
        return forms.ChoiceField(choices=choices, widget=forms.Select(attrs=attrs), **options)
    if isinstance(rule, serializers.CharField):
        widget = forms.Textarea(attrs=attrs) if "rows" in attrs else forms.TextInput(attrs=attrs)
        return forms.CharField(
            max_length=rule.max_length, strip=rule.trim_whitespace, widget=widget, **options
        )
    options.update(min_value=rule.min_value, max_value=rule.max_value)
    if isinstance(rule, serializers.IntegerField):
        return forms.IntegerField(widget=forms.NumberInput(attrs=attrs), **options)
    return forms.FloatField(widget=forms.NumberInput(attrs={"step": "any", **attrs}), **options)


def _hyperparameter_field(name, rule):
    """A blank-means-auto field with the type and range auto-configuration accepts."""
    return form_field(
        rule,
        required=False,
        label=HYPERPARAMETER_LABELS.get(name, name),
        choice_labels=CHOICE_LABELS,
        widget_attrs={
            "placeholder": "auto",
            "data-hyperparameter": name,
            "aria-describedby": f"reason-{name} error-{name}",
        },
    )


class UsableDatasetField(forms.ModelChoiceField):
    """Offers the user's usable datasets. One of theirs that is not usable (still being checked,
    invalid) is refused with Dataset.unusable_reason(), the wording the API uses, rather than as
    an unknown choice; anyone else's stays unknown."""

    def __init__(self, *args, **kwargs):
        super().__init__(Dataset.objects.none(), *args, **kwargs)
        self.owned = Dataset.objects.none()

    def show_for(self, user):
        self.owned = Dataset.objects.usable_by(user)
        self.queryset = self.owned.usable()

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError:
            pk = parse_int(str(value))
            dataset = self.owned.filter(pk=pk).first() if pk is not None else None
            reason = dataset.unusable_reason() if dataset is not None else None
            if not reason:
                raise
            raise ValidationError(reason, code="unusable") from None


class JobLaunchForm(forms.Form):
    name = forms.CharField(
        max_length=Job._meta.get_field("name").max_length,
        required=False,
        label="Job name (optional)",
        help_text="Left blank, the job is named “<base model> on <dataset>”.",
        widget=forms.TextInput(attrs={"aria-describedby": "help-name error-name"}),
    )
    dataset = UsableDatasetField(label="Training dataset", empty_label="Choose a dataset…")
    validation_dataset = UsableDatasetField(
        required=False,
        label="Validation dataset (optional)",
        empty_label="None: hold out part of the training data",
    )
    base_model = forms.ChoiceField(label="Base model", widget=forms.RadioSelect)
    team = team_field()
    method = forms.ChoiceField(
        choices=Job.Method.choices,
        initial=Job.Method.FULL,
        widget=forms.RadioSelect,
        label="Method",
    )
    pool = forms.ChoiceField(
        required=False,
        label="Worker pool",
        help_text="Each live pool's estimate is shown beside the form.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pool"].choices = [("", "Cheapest pool that fits")] + [
            (pool, pool) for pool in sorted(live_pools())
        ]
        self.fields["dataset"].show_for(user)
        self.fields["validation_dataset"].show_for(user)
        show_teams(self, user)
        self.catalog = catalog_for(user)
        # A checkpoint asked for (?base_model=job-<id>-step-<step>, or posted) is offered first.
        asked = self.data.get("base_model") or self.initial.get("base_model")
        entry = checkpoint_entry(user, asked)
        if entry is not None:
            self.catalog.insert(0, entry)
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
        """Keyword arguments for jobs.training.services.job_launch; blank hyperparameters are
        auto."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "dataset": data["dataset"],
            "validation_dataset": data.get("validation_dataset"),
            "base_model_key": data["base_model"],
            "method": data["method"],
            "team_id": data.get("team") or None,
            "pool": data.get("pool") or None,
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
    """Initial wizard values: a job to clone (?from=ID) or a dataset to train on (?dataset=ID).
    Cloning is a change: a job the user may only look at (a viewer, a share) fills in nothing."""
    initial = {}
    source_id = parse_int(request.GET.get("from"))
    if source_id is not None:
        source = (
            Job.objects.visible_to(request.user)
            .filter(pk=source_id)
            .select_related("base_model", "dataset", "validation_dataset")
            .first()
        )
        if source and access.may_change(request.user, source):
            initial["clone_notes"] = _clone_notes(source)
            initial.update(source.requested_hyperparameters)
            initial.update(
                {
                    "name": f"{source.name} (copy)",
                    "dataset": source.dataset_id,
                    "validation_dataset": source.validation_dataset_id,
                    "base_model": _base_model_key(source),
                    "method": source.method,
                    "team": source.team_id or "",
                }
            )
    dataset_id = parse_int(request.GET.get("dataset"))
    if dataset_id is not None:
        initial["dataset"] = dataset_id
    if request.GET.get("base_model"):
        initial["base_model"] = request.GET["base_model"].strip()[:100]
    return initial


def _clone_notes(source):
    """What a clone cannot copy: a dataset the user has deleted since."""
    notes = []
    for dataset in (source.dataset, source.validation_dataset):
        if dataset is not None and dataset.deleted_at is not None:
            notes.append(
                f"The dataset “{dataset.name}” that job #{source.pk} used has been deleted: "
                "choose another one."
            )
    return notes


def _base_model_key(job):
    """The key that picks what `job` started from again (a catalog row, a job, a checkpoint)."""
    if job.parent_job_id and job.parent_checkpoint_step is not None:
        return checkpoint_key(job.parent_job, job.parent_checkpoint_step)
    if job.parent_job_id:
        return f"job-{job.parent_job_id}"
    return job.base_model.key


class JobNotesForm(forms.ModelForm):
    class Meta:
        model = Job
        fields = ["name", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}


class PlaygroundForm(forms.Form):
    """The fields of GenerateRequestSerializer, laid out for the page."""

    WIDGET_ATTRS = {
        "prompt": {"rows": 4},
        "system": {"rows": 2},
        "temperature": {"step": "0.05"},
        "top_p": {"step": "0.01"},
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, rule in GenerateRequestSerializer().fields.items():
            if name == "history":  # the page keeps the conversation in JavaScript
                continue
            self.fields[name] = form_field(rule, widget_attrs=self.WIDGET_ATTRS.get(name))
        self.fields["system"].required = False  # blank: no system prompt
