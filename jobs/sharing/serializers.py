"""The `team` field of the datasets and jobs APIs."""

from rest_framework import serializers

TEAM_HELP = (
    "Id of one of your teams (where you are a member or admin), or null: your personal space"
)


def team_field(**kwargs):
    """`team` on datasets and jobs: an id or null. The view checks it through
    jobs.sharing.services.team_for (a team you are not in is unknown, a viewer's is a 403)."""
    return serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text=TEAM_HELP, **kwargs
    )
