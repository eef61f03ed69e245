from django import forms

from accounts.teams.models import Membership, Role
from jobs.models.notifications import EVENT_TYPES, EmailPreference

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
    team = forms.ChoiceField(
        required=False,
        label="Space",
        help_text="Your own, or a team you administer: it receives the team's events.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = space_choices(user)

    @property
    def offers_teams(self):
        return len(self.fields["team"].choices) > 1


def space_choices(user):
    """("", "Personal") then every team `user` administers (only an admin adds its webhooks)."""
    rows = (
        Membership.objects.filter(user=user, role=Role.ADMIN)
        .select_related("team")
        .order_by("team__name")
    )
    return [("", "Personal")] + [(str(m.team_id), f"Team {m.team.name}") for m in rows]
