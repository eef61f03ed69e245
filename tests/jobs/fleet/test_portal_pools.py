"""Pools in the portal: the wizard offers the live pools and launches into the chosen one; a
queued job's page says where it stands, or that its pool has no worker."""

import pytest
from django.urls import reverse

from jobs.models import Job
from jobs.models.worker import Worker
from tests.jobs.factories import make_dataset, make_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def test_the_wizard_offers_live_pools_and_launches_into_the_chosen_one(owner_client, owner):
    Worker.objects.create(name="g:1", host="g", pool="gpu", kind="h100", memory_bytes=80 * 2**30)
    page = owner_client.get(reverse("job-new")).content.decode()
    assert "Cheapest pool that fits" in page and '<option value="gpu">gpu</option>' in page
    assert 'id="est-pools"' in page
    dataset = make_dataset(owner)
    form = {"name": "On a GPU", "dataset": dataset.pk, "base_model": "builtin-tiny"}
    response = owner_client.post(reverse("job-new"), {**form, "method": "full", "pool": "gpu"})
    assert response.status_code == 302
    assert Job.objects.get(name="On a GPU").pool == "gpu"


def test_a_queued_job_in_a_pool_without_workers_says_it_waits_for_one(owner_client, owner):
    job = make_job(owner, pool="gpu")
    page = owner_client.get(reverse("job-detail", args=[job.pk])).content.decode()
    assert "Queued in the <strong>gpu</strong> pool: position 1." in page
    assert "Waiting for a gpu worker" in page


def test_a_queued_job_with_a_live_worker_shows_its_estimated_start(owner_client, owner):
    Worker.objects.create(name="c:1", host="c", pool="cpu", kind="cpu", memory_bytes=2**34)
    make_job(owner, name="first", estimate={"wall_seconds": 60})
    job = make_job(owner, name="second")
    page = owner_client.get(reverse("job-detail", args=[job.pk])).content.decode()
    assert "position 2 (1 job ahead)" in page and "Estimated start:" in page
