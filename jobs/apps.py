from django.apps import AppConfig
from django.db.models.signals import post_migrate


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Datasets, models and training jobs"

    def ready(self):
        # Seed data and the reaper's schedule are created after migrate, idempotently.
        from accounts.profile import add_profile_context
        from jobs.catalog.services import seed_catalog
        from jobs.notifications import events  # noqa: F401  (connects emails and webhooks)
        from jobs.notifications import views as notifications_views
        from jobs.notifications.tasks import ensure_schedule as ensure_notification_schedule
        from jobs.quotas import views as quotas_views
        from jobs.training import signals  # noqa: F401  (connects the file removal on delete)
        from jobs.training.tasks import ensure_schedules

        # The profile page (accounts) shows storage and notifications; accounts imports no jobs.
        add_profile_context(quotas_views.profile_context)
        add_profile_context(notifications_views.profile_context)

        post_migrate.connect(seed_catalog, sender=self, dispatch_uid="jobs.seed_catalog")
        post_migrate.connect(ensure_schedules, sender=self, dispatch_uid="jobs.ensure_schedules")
        post_migrate.connect(
            ensure_notification_schedule, sender=self, dispatch_uid="jobs.notifications.schedule"
        )
