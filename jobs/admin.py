"""The admin: each topic registers its own models; Django's autodiscovery imports this module."""

from jobs.catalog import admin as catalog_admin  # noqa: F401
from jobs.datasets import admin as datasets_admin  # noqa: F401
from jobs.evaluations import admin as evaluations_admin  # noqa: F401
from jobs.fleet import admin as fleet_admin  # noqa: F401
from jobs.notifications import admin as notifications_admin  # noqa: F401
from jobs.training import admin as training_admin  # noqa: F401
