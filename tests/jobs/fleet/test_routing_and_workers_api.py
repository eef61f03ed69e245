"""Pools seen from the API: a job goes to the cheapest live pool that fits it, or the one the
user chose; a job no live pool can take is refused with the reason; a queued job shows its
place in its pool's queue and when it should start; operators list the workers."""

import pytest
from django.utils import timezone

from jobs.models import Job
from jobs.models.worker import Worker
from tests.jobs.factories import make_dataset, make_job

pytestmark = pytest.mark.django_db

GIB = 2**30


def register(name, pool, kind, memory_bytes, **fields):
    return Worker.objects.create(
        name=name,
        host=name.split(":")[0],
        pool=pool,
        kind=kind,
        memory_bytes=memory_bytes,
        device_name=f"{kind} device",
        **fields,
    )


def launch(client, dataset, **extra):
    body = {"name": "Routed", "dataset": dataset.pk, "base_model": "builtin-tiny", **extra}
    return client.post("/api/v1/jobs/", body, format="json")


def test_with_no_live_worker_a_job_waits_in_the_default_pool_and_says_so(owner_api, owner):
    response = launch(owner_api, make_dataset(owner))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["pool"] == "cpu"
    assert body["queue"]["position"] == 1
    assert body["queue"]["waiting_for"] == "waiting for a cpu worker"
    assert body["queue"]["estimated_start"] is None


def test_a_job_goes_to_the_cheapest_live_pool_that_fits_it(owner_api, owner, settings):
    register("cpu1:1", "cpu", "cpu", 64 * GIB)
    register("gpu1:1", "gpu", "h100", 80 * GIB)
    body = launch(owner_api, make_dataset(owner)).json()
    assert body["pool"] == "cpu"  # fits both; CPU hours cost less
    pools = {offer["pool"]: offer for offer in body["estimate"]["pools"]}
    assert set(pools) == {"cpu", "gpu"} and pools["cpu"]["fits"] and pools["gpu"]["fits"]
    assert pools["cpu"]["cost"] < pools["gpu"]["cost"]


def test_a_job_too_big_for_the_cheap_pool_goes_to_the_one_that_fits(owner_api, owner):
    register("cpu1:1", "cpu", "cpu", 1024)  # a kilobyte of memory holds no model
    register("gpu1:1", "gpu", "h100", 80 * GIB)
    body = launch(owner_api, make_dataset(owner)).json()
    assert body["pool"] == "gpu"


def test_a_job_no_live_pool_can_fit_is_refused_with_the_reason(owner_api, owner):
    register("cpu1:1", "cpu", "cpu", 1024)
    response = launch(owner_api, make_dataset(owner))
    assert response.status_code == 400
    message = response.json()["pool"][0]
    assert "No live pool can fit this job" in message and "pool 'cpu'" in message
    assert not Job.objects.exists()


def test_the_user_may_choose_a_live_pool_but_not_an_unknown_one(owner_api, owner):
    register("cpu1:1", "cpu", "cpu", 64 * GIB)
    register("gpu1:1", "gpu", "h100", 80 * GIB)
    dataset = make_dataset(owner)
    assert launch(owner_api, dataset, pool="gpu").json()["pool"] == "gpu"
    response = launch(owner_api, dataset, pool="tpu")
    assert response.status_code == 400
    assert response.json()["pool"] == ["No live worker in pool 'tpu'. Live pools: cpu, gpu."]


def test_a_worker_not_seen_lately_does_not_count(owner_api, owner, settings):
    old = timezone.now() - timezone.timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT_S + 5)
    register("gpu1:1", "gpu", "h100", 80 * GIB, last_seen=old)
    register("cpu1:1", "cpu", "cpu", 1024)
    response = launch(owner_api, make_dataset(owner), pool="gpu")
    assert (
        response.status_code == 400 and "No live worker in pool 'gpu'" in response.json()["pool"][0]
    )


def test_the_estimate_lists_each_live_pool(owner_api, owner):
    register("gpu1:1", "gpu", "h100", 80 * GIB)
    body = {"dataset": make_dataset(owner).pk, "base_model": "builtin-tiny"}
    response = owner_api.post("/api/v1/jobs/estimate/", body, format="json")
    assert response.status_code == 200
    (offer,) = response.json()["estimate"]["pools"]
    assert offer["pool"] == "gpu" and offer["kind"] == "h100" and offer["workers"] == 1
    assert offer["device_memory_bytes"] == 80 * GIB and offer["fits"] is True


def test_a_queued_job_shows_its_place_and_estimated_start(owner_api, owner, other_user):
    register("cpu1:1", "cpu", "cpu", 64 * GIB)
    estimate = {"wall_seconds": 600}
    mine = [make_job(owner, name=f"mine {n}", estimate=estimate) for n in range(3)]
    theirs = make_job(other_user, name="theirs", estimate=estimate)
    # Fair share: my first job, then the other user's first, then my second and third.
    positions = {
        job.name: owner_api.get(f"/api/v1/jobs/{job.pk}/").json()["queue"]["position"]
        for job in mine
    }
    assert positions == {"mine 0": 1, "mine 1": 3, "mine 2": 4}
    queue = owner_api.get(f"/api/v1/jobs/{mine[2].pk}/").json()["queue"]
    assert queue["ahead"] == 3 and "waiting_for" not in queue
    start = timezone.datetime.fromisoformat(queue["estimated_start"])
    # One worker, three jobs of 10 minutes ahead: about half an hour from now.
    assert 29 * 60 <= (start - timezone.now()).total_seconds() <= 31 * 60
    assert theirs.pk  # queued by someone else: counted, never shown to me


def test_a_running_job_has_no_queue_place(owner_api, owner):
    job = make_job(owner, status=Job.Status.RUNNING)
    assert owner_api.get(f"/api/v1/jobs/{job.pk}/").json()["queue"] is None


def test_operators_list_the_workers_and_no_one_else_may(api_client, owner_api, operator):
    register("gpu1:1", "gpu", "h200", 141 * GIB)
    assert owner_api.get("/api/v1/workers/").status_code == 403
    assert api_client.get("/api/v1/workers/").status_code in (401, 403)
    api_client.force_authenticate(operator)
    (worker,) = api_client.get("/api/v1/workers/").json()
    assert worker["pool"] == "gpu" and worker["kind"] == "h200" and worker["live"] is True
    assert worker["memory_bytes"] == 141 * GIB and worker["current_job"] is None


def test_operators_see_workers_in_the_admin(client, operator):
    register("gpu1:1", "gpu", "h200", 141 * GIB)
    client.force_login(operator)
    page = client.get("/admin/jobs/worker/")
    assert page.status_code == 200 and b"gpu1:1" in page.content and b"141.0" in page.content
