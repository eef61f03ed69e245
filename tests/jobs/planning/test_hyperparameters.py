"""The values a user fixes: they win, a null leaves the choice to the rules, bad ones are refused
by name."""

import math

import pytest

from tests.jobs.planning.builders import configure, data

pytestmark = pytest.mark.django_db


# --- The user's values ------------------------------------------------------------------------


def test_a_value_the_user_fixed_wins_and_says_set_by_you(owner):
    dataset = data(owner, bins=[(0, 49, 1000)])
    auto = configure(dataset)
    fixed = configure(dataset, learning_rate=3e-4, batch_size=2, epochs=1)
    assert fixed["hyperparameters"]["learning_rate"] == 3e-4
    assert fixed["reasons"]["learning_rate"] == "set by you"
    assert fixed["fixed"] == ["epochs", "learning_rate", "batch_size"]
    # The rules that depend on them follow: 900 rows in batches of 2, one epoch.
    assert fixed["total_steps"] == math.ceil(
        450 / fixed["hyperparameters"]["gradient_accumulation_steps"]
    )
    assert fixed["total_steps"] != auto["total_steps"]


def test_null_means_choose_for_me(owner):
    result = configure(data(owner, bins=[(0, 49, 1000)]), learning_rate=None)
    assert result["reasons"]["learning_rate"] != "set by you"
