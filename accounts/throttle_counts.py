"""The throttles' counter rows (re-exported by accounts.models, which Django loads as the app's
models). A module of its own so that accounts.throttles, which the teams pages use, depends on
this row only, not on every model of the app (accounts.models imports the teams' models)."""

from django.db import models


class ThrottleCount(models.Model):
    """How many times one client did one action in one window of its rate (accounts.throttles):
    incremented in one statement, so concurrent requests are counted exactly."""

    key = models.CharField(max_length=120, unique=True)  # scope, hashed client, window number
    count = models.IntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)  # the window's end: then it can go

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
