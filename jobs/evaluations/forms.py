"""The portal's form to start an evaluation: the fields of POST /api/v1/evaluations/, laid out
for a page, judged by the same service (jobs.evaluations.services.evaluation_create)."""

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from jobs.catalog.services import catalog_for, checkpoint_entry
from jobs.evaluations.metrics import METRICS
from jobs.evaluations.services import GENERATION_DEFAULTS, GENERATION_LIMITS
from jobs.sharing.forms import show_teams, team_field
from jobs.training.forms import UsableDatasetField

if TYPE_CHECKING:
    from django.contrib.auth.models import User

GENERATION_LABELS = {
    "max_new_tokens": "Max new tokens",
    "temperature": "Temperature",
    "top_p": "Top-p",
    "seed": "Seed",
    "batch_size": "Batch size",
}


def _generation_field(name: str) -> forms.Field:
    """Blank means the service's default, shown as the placeholder."""
    low, high = GENERATION_LIMITS[name]
    default = GENERATION_DEFAULTS[name]
    attrs = {"placeholder": f"{default:g}"}
    if isinstance(default, float):
        return forms.FloatField(
            required=False,
            min_value=low,
            max_value=high,
            label=GENERATION_LABELS[name],
            widget=forms.NumberInput(attrs={**attrs, "step": "any"}),
        )
    return forms.IntegerField(
        required=False,
        min_value=int(low),
        max_value=int(high),
        label=GENERATION_LABELS[name],
        widget=forms.NumberInput(attrs=attrs),
    )


class EvaluationForm(forms.Form):
    model = forms.ChoiceField(
        label="Model",
        help_text="A catalog model, a succeeded job's model, or one of its checkpoints.",
    )
    dataset = UsableDatasetField(label="Evaluation dataset", empty_label="Choose a dataset…")
    metrics = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(spec.name, spec.description) for spec in METRICS.values()],
        help_text="None ticked: every metric that needs no parameter (perplexity only for "
        "plain text).",
    )
    regex = forms.CharField(
        required=False,
        max_length=500,
        label="Pattern (regex metric)",
        help_text="A regular expression searched in each output; anchor it with ^ and $.",
    )
    ignore_case_and_space = forms.BooleanField(
        required=False, label="Exact match ignores case and surrounding space"
    )
    max_examples = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=settings.EVAL_MAX_EXAMPLES,
        label="Examples",
        help_text=f"Blank: all of them, up to {settings.EVAL_MAX_EXAMPLES:,}.",
    )
    team = team_field()

    def __init__(self, *args: Any, user: "User", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(UsableDatasetField, self.fields["dataset"]).show_for(user)
        show_teams(self, user)
        cast(forms.ChoiceField, self.fields["model"]).choices = _model_choices(
            user, self.data.get("model") or self.initial.get("model")
        )
        for name in GENERATION_DEFAULTS:
            self.fields[name] = _generation_field(name)

    def generation_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in GENERATION_DEFAULTS]

    def create_arguments(self) -> dict[str, Any]:
        """Keyword arguments for evaluation_create; blank settings are the service's defaults."""
        data = self.cleaned_data
        return {
            "model": data["model"],
            "dataset": data["dataset"],
            "metrics": data["metrics"] or None,
            "regex": data["regex"],
            "ignore_case_and_space": data["ignore_case_and_space"],
            "max_examples": data["max_examples"],
            "generation": {n: data[n] for n in GENERATION_DEFAULTS if data[n] is not None},
            "team_id": int(data["team"]) if data.get("team") else None,
        }

    def add_service_errors(self, exc: ValidationError) -> None:
        """The service's {field: [messages]} beside the matching fields, the rest on top."""
        errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
        for key, messages in errors.items():
            self.add_error(key if key in self.fields else None, ValidationError(messages))


def _model_choices(user: "User", asked: str | None) -> list[Any]:
    """Catalog models, then the user's fine-tuned models; a checkpoint asked for
    (job-<id>-step-<n>) comes first."""
    entries = [m for m in catalog_for(user) if m["available"]]
    checkpoint = checkpoint_entry(user, asked)
    catalog = [(m["key"], m["display_name"]) for m in entries if m["job_id"] is None]
    tuned = [(m["key"], m["display_name"]) for m in entries if m["job_id"] is not None]
    if checkpoint is not None:
        tuned.insert(0, (checkpoint["key"], checkpoint["display_name"]))
    choices = [("", "Choose a model…"), ("Catalog models", catalog)]
    return choices + ([("Fine-tuned models", tuned)] if tuned else [])
