import pytest


@pytest.fixture(autouse=True)
def _worker(settings):
    # A CPU worker with 16 GB, whatever machine runs the tests.
    settings.WORKER_KIND = "cpu"
    settings.WORKER_DEVICE_MEMORY_MB = 16 * 1024
