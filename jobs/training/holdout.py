"""The size of an automatic validation split: shared by the engine, which holds the rows out,
and the auto-configuration, which predicts the steps that are left (no torch imported here)."""


def holdout_count(n, *, fraction, max_count, minimum=4):
    """How many of n examples (or packed blocks) a validation split holds: none below
    `minimum`, else `fraction` of them, at least one and at most `max_count`."""
    if n < minimum or fraction <= 0:
        return 0
    return max(1, min(int(n * fraction), max_count))
