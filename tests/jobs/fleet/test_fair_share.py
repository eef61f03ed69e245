"""Fair share: a free worker of a pool takes the oldest job of the user with the fewest running
jobs in that pool, never a job of a user at USER_MAX_RUNNING_JOBS, never another pool's; on
PostgreSQL concurrent workers never take one job twice."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from jobs.models import Job
from tests.jobs.factories import make_dataset, make_job


@pytest.fixture
def users(django_user_model):
    return [
        django_user_model.objects.create_user(f"user{i}", f"user{i}@example.com", "pw-long-enough")
        for i in range(3)
    ]


def queue_jobs(users, per_user, *, pool="cpu"):
    """per_user jobs for each user; user 0 launched all of theirs first (a burst)."""
    start = timezone.now() - timedelta(hours=1)
    jobs, minute = {}, 0
    for user in users:
        dataset = make_dataset(user)
        for n in range(per_user):
            minute += 1
            created = start + timedelta(minutes=minute)
            job = make_job(user, dataset, name=f"{user.username} #{n + 1}", pool=pool)
            Job.objects.filter(pk=job.pk).update(created_at=created)
            jobs[(user.username, n + 1)] = job.pk
    return jobs


@pytest.mark.django_db
def test_a_burst_from_one_user_does_not_keep_the_others_waiting(users, settings):
    settings.USER_MAX_RUNNING_JOBS = 10
    jobs = queue_jobs(users, per_user=3)
    taken = [Job.objects.claim_next("cpu", f"w{i}").name for i in range(9)]
    assert taken[:3] == ["user0 #1", "user1 #1", "user2 #1"]
    assert taken[3:6] == ["user0 #2", "user1 #2", "user2 #2"]
    assert taken[6:] == ["user0 #3", "user1 #3", "user2 #3"]
    assert Job.objects.claim_next("cpu", "w9") is None
    claimed = Job.objects.get(pk=jobs[("user1", 1)])
    assert claimed.status == Job.Status.RUNNING and claimed.worker == "w1"
    assert claimed.events.filter(message="Running on worker w1").exists()


@pytest.mark.django_db
def test_a_user_at_the_running_limit_waits_while_others_are_served(users, settings):
    settings.USER_MAX_RUNNING_JOBS = 1
    queue_jobs(users[:2], per_user=2)
    assert Job.objects.claim_next("cpu", "a").name == "user0 #1"
    assert Job.objects.claim_next("cpu", "b").name == "user1 #1"
    assert Job.objects.claim_next("cpu", "c") is None  # both users run their one job


@pytest.mark.django_db
def test_a_worker_takes_only_its_own_pool_s_jobs(users):
    make_job(users[0], pool="gpu", name="big")
    assert Job.objects.claim_next("cpu", "cpu-worker") is None
    assert Job.objects.claim_next("gpu", "gpu-worker").name == "big"


@pytest.mark.django_db
def test_a_cancelled_or_paused_job_is_not_claimed(users):
    make_job(users[0], name="cancel me", cancel_requested=True)
    make_job(users[0], name="paused", status=Job.Status.PAUSED)
    assert Job.objects.claim_next("cpu", "w") is None


@pytest.mark.django_db(transaction=True)
def test_four_workers_claiming_at_once_never_take_one_job_twice(users, settings):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent claims need a database with row locks (PostgreSQL)")
    settings.USER_MAX_RUNNING_JOBS = 100
    queue_jobs(users, per_user=10)
    taken, barrier = [], threading.Barrier(4)

    def worker(n):
        barrier.wait()
        try:
            while (job := Job.objects.claim_next("cpu", f"worker-{n}")) is not None:
                taken.append(job.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(taken) == 30 and len(set(taken)) == 30
    assert not Job.objects.filter(status=Job.Status.QUEUED).exists()
    # Each job was claimed by exactly one worker: one "Running on worker" event each.
    for job in Job.objects.all():
        assert job.events.filter(message__startswith="Running on worker").count() == 1


@pytest.mark.django_db
def test_jobs_that_end_quickly_still_go_round_the_users(users):
    queue_jobs(users, per_user=2)
    taken = []
    for n in range(6):
        job = Job.objects.claim_next("cpu", f"w{n}")
        job.finish(f"w{n}", Job.Status.SUCCEEDED, "done", actual={})
        taken.append(job.name)
    # Nobody runs anything between claims: the user served longest ago goes next.
    assert taken == ["user0 #1", "user1 #1", "user2 #1", "user0 #2", "user1 #2", "user2 #2"]
