from django import forms

from accounts.teams.models import Role


class TeamForm(forms.Form):
    name = forms.CharField(max_length=100, label="Team name")


class MemberAddForm(forms.Form):
    username = forms.CharField(
        max_length=254,
        label="Username or email",
        help_text="A username is added at once; an email address is mailed an invitation, which "
        "takes effect when that address signs in or signs up.",
    )
    role = forms.ChoiceField(
        choices=Role.choices,
        initial=Role.MEMBER,
        help_text="Viewers see the team's datasets and jobs, use the playground and download "
        "models; members also upload, launch, cancel, clone and delete; admins also manage "
        "members.",
    )


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
