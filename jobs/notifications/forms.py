from django import forms

from jobs.notifications.models import EVENT_TYPES, EmailPreference

EVENT_CHOICES = [(event, event) for event in EVENT_TYPES]


class EmailPreferenceForm(forms.ModelForm):
    class Meta:
        model = EmailPreference
        fields = ["job_succeeded", "job_failed", "job_cancelled"]
        labels = {
            "job_succeeded": "A job of mine succeeded",
            "job_failed": "A job of mine failed",
            "job_cancelled": "A job of mine was cancelled",
        }


class WebhookForm(forms.Form):
    url = forms.CharField(max_length=500, label="Endpoint URL")
    events = forms.MultipleChoiceField(
        choices=EVENT_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        initial=["job.succeeded", "job.failed"],
        error_messages={"required": "Choose at least one event."},
    )
