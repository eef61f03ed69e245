"""Files go with their rows, however a row is deleted: by a service, by an operator in the
admin, or with its owner's account. Removed once the deletion commits, so a rolled-back delete
keeps its files."""

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from jobs.models import Dataset, Job
from jobs.storage import files


@receiver(post_delete, sender=Dataset, dispatch_uid="jobs.remove_dataset_file")
def remove_dataset_file(sender, instance, **kwargs):
    if instance.file:  # empty once dataset_delete removed it
        storage, name = instance.file.storage, instance.file.name
        transaction.on_commit(lambda: storage.delete(name))


@receiver(post_delete, sender=Job, dispatch_uid="jobs.remove_job_folder")
def remove_job_folder(sender, instance, **kwargs):
    key = f"jobs/{instance.pk}"
    transaction.on_commit(lambda: files.remove_folder(key))
