"""The space a dataset or job goes into, as a form field, and the share form."""

from django import forms

from accounts.teams.models import Membership, Role, roles_at_least


def team_choices(user):
    """("", "Personal space") then every team where `user` may add things (member or admin)."""
    rows = (
        Membership.objects.filter(user=user, role__in=roles_at_least(Role.MEMBER))
        .select_related("team")
        .order_by("team__name")
    )
    return [("", "Personal space")] + [(str(m.team_id), f"Team {m.team.name}") for m in rows]


def team_field():
    return forms.ChoiceField(
        required=False,
        label="Space",
        help_text="Your personal space, or a team: its members see it and may work with it.",
    )


def show_teams(form, user, field="team"):
    form.fields[field].choices = team_choices(user)


class SpaceForm(forms.Form):
    team = team_field()

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        show_teams(self, user)


class ShareForm(forms.Form):
    username = forms.CharField(
        max_length=254, label="Share read-only with", help_text="A username, or an email (invited)"
    )
