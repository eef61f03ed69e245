"""The app's models, one module per family; Django loads this package as `jobs.models`.

Every topic package (datasets, catalog, fleet, training, notifications, sharing, ...) imports
its records from here, and nothing here imports a topic: the models sit below every service and
view (see the import-linter contracts in pyproject.toml). Migration 0001 names
`jobs.models.dataset_upload_path`, so it stays importable from here.
"""

from jobs.models.base_model import BaseModel, BaseModelQuerySet
from jobs.models.dataset import Dataset, DatasetQuerySet, dataset_upload_path, dataset_validated
from jobs.models.evaluation import (
    Evaluation,
    EvaluationEvent,
    EvaluationExample,
    EvaluationQuerySet,
    evaluation_state_changed,
)
from jobs.models.job import Job, JobQuerySet
from jobs.models.job_lifecycle import job_state_changed
from jobs.models.notifications import EmailPreference, Notification, Webhook, WebhookDelivery
from jobs.models.records import Checkpoint, JobEvent, MetricPoint
from jobs.models.share import JobShare, ShareInvitation
from jobs.models.worker import Worker, WorkerQuerySet

__all__ = [
    "BaseModel",
    "BaseModelQuerySet",
    "Checkpoint",
    "Dataset",
    "DatasetQuerySet",
    "EmailPreference",
    "Evaluation",
    "EvaluationEvent",
    "EvaluationExample",
    "EvaluationQuerySet",
    "Job",
    "JobEvent",
    "JobQuerySet",
    "JobShare",
    "MetricPoint",
    "Notification",
    "ShareInvitation",
    "Webhook",
    "WebhookDelivery",
    "Worker",
    "WorkerQuerySet",
    "dataset_upload_path",
    "dataset_validated",
    "evaluation_state_changed",
    "job_state_changed",
]
