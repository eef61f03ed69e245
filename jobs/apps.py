from django.apps import AppConfig
from django.db.models.signals import post_migrate


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Datasets, models and training jobs"

    def ready(self):
        # Seed data and the reaper's schedule are created after migrate, idempotently.
        from accounts.pages import add_section
        from jobs.catalog.services import seed_catalog
        from jobs.evaluations import signals as evaluation_signals  # noqa: F401  (auto-evaluation)
        from jobs.evaluations.tasks import ensure_schedules as ensure_evaluation_schedules
        from jobs.notifications import events  # noqa: F401  (connects emails and webhooks)
        from jobs.notifications import views as notifications_views
        from jobs.notifications.tasks import ensure_schedule as ensure_notification_schedule
        from jobs.quotas import views as quotas_views
        from jobs.sharing import signals as sharing_signals  # noqa: F401  (share invitations)
        from jobs.sharing import views as sharing_views
        from jobs.training import signals  # noqa: F401  (connects the file removal on delete)
        from jobs.training.tasks import ensure_schedules

        # What the account's pages show of jobs (accounts imports nothing of jobs).
        add_section(
            "profile",
            place="top",
            template="jobs/_profile_storage.html",
            context=quotas_views.storage_section,
        )
        add_section(
            "profile",
            place="bottom",
            template="jobs/_profile_notifications.html",
            context=notifications_views.profile_section,
        )
        add_section(
            "team",
            place="summary",
            template="jobs/_team_counts.html",
            context=sharing_views.team_counts_section,
        )

        post_migrate.connect(seed_catalog, sender=self, dispatch_uid="jobs.seed_catalog")
        post_migrate.connect(ensure_schedules, sender=self, dispatch_uid="jobs.ensure_schedules")
        post_migrate.connect(
            ensure_evaluation_schedules, sender=self, dispatch_uid="jobs.evaluations.schedule"
        )
        post_migrate.connect(
            ensure_notification_schedule, sender=self, dispatch_uid="jobs.notifications.schedule"
        )
