from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and API tokens"

    def ready(self):
        from accounts import signals  # noqa: F401  (connects the sign-in failure recorder)
        from accounts.tasks import ensure_schedule

        post_migrate.connect(ensure_schedule, sender=self, dispatch_uid="accounts.prune_schedule")
