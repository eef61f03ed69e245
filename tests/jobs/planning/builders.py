"""Datasets and calls the planning tests share: a dataset row with a given token histogram, and
resolve() on it."""

import pytest
from django.core.exceptions import ValidationError

from jobs.models import BaseModel, Dataset
from jobs.planning.autoconfig import resolve


def model(key):
    return BaseModel.objects.get(key=key)


def data(owner, *, kind="prompt_completion", bins, name="data"):
    """A valid dataset row whose statistics are the given histogram [(start, end, count)]."""
    histogram = [{"start": s, "end": e, "count": c} for s, e, c in bins]
    examples = sum(c for _, _, c in bins)
    tokens = round(sum((s + e) / 2 * c for s, e, c in bins))
    return Dataset.objects.create(
        owner=owner,
        name=name,
        original_filename=f"{name}.jsonl",
        format="jsonl",
        kind=kind,
        status=Dataset.Status.VALID,
        num_examples=examples,
        total_tokens=tokens,
        stats={"histogram": histogram, "max_tokens": max(e for _, e, _ in bins)},
    )


def configure(dataset, key="builtin-tiny", method="full", validation_dataset=None, **requested):
    return resolve(
        dataset=dataset,
        base_model=model(key),
        method=method,
        requested=requested,
        validation_dataset=validation_dataset,
    )


def refusal(dataset, key="builtin-tiny", method="full", **requested):
    with pytest.raises(ValidationError) as caught:
        configure(dataset, key, method, **requested)
    return caught.value.message_dict
