"""The BaseModel record (re-exported by jobs.models, which Django loads as the app's models)."""

from typing import Self

from django.db import models


class BaseModelQuerySet(models.QuerySet["BaseModel"]):
    def active(self) -> Self:
        return self.filter(is_active=True)


class BaseModel(models.Model):
    """A model a job can start from: pretrained from the hub, built-in, or an operator's folder.

    A user's own finished jobs are base models too; they are not rows here but Job.parent_job.
    """

    class Source(models.TextChoices):
        HUB = "hub", "Hugging Face Hub"
        BUILTIN = "builtin", "Built-in (random weights, offline)"
        LOCAL = "local", "Local folder"

    key = models.SlugField(max_length=100, unique=True)
    display_name = models.CharField(max_length=200)
    source = models.CharField(max_length=12, choices=Source.choices)
    hub_id = models.CharField(max_length=200, blank=True)
    local_path = models.CharField(max_length=500, blank=True)
    # For built-in models: the GPT2Config keyword arguments (n_layer, n_head, n_embd, n_positions).
    config = models.JSONField(default=dict, blank=True)
    description = models.TextField(blank=True)
    parameters = models.BigIntegerField(default=0)
    layers = models.IntegerField(default=0)
    hidden_size = models.IntegerField(default=0)
    heads = models.IntegerField(default=0)
    context_length = models.IntegerField(default=1024)
    is_active = models.BooleanField(default=True)
    sort_order = models.IntegerField(default=0)

    objects = BaseModelQuerySet.as_manager()

    class Meta:
        ordering = ["sort_order", "parameters"]

    def __str__(self) -> str:
        return self.display_name
