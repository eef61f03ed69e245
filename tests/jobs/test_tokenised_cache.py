"""A worker tokenises a dataset once: a second job on it (a clone, a resumed job) reads the
tokens from the worker's cache, and the job's log says which happened."""

import pytest

from jobs.models import Job, JobEvent
from tests.jobs.test_job_training import launch, make_dataset


@pytest.mark.django_db
def test_a_clone_reads_the_tokenised_dataset_from_the_workers_cache(
    owner, settings, django_capture_on_commit_callbacks, tmp_path
):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    dataset = make_dataset(owner, lines=40)
    with django_capture_on_commit_callbacks(execute=True):
        first = launch(owner, dataset, name="first")
    with django_capture_on_commit_callbacks(execute=True):
        clone = launch(owner, dataset, name="clone")

    def log(job):
        job.refresh_from_db()
        assert job.status == Job.Status.SUCCEEDED, job.error
        return list(JobEvent.objects.filter(job=job).values_list("message", flat=True))

    assert "Training data tokenised: 40 examples" in log(first)
    assert "Training data read from this worker's cache: 40 examples" in log(clone)
    assert first.eval_loss == pytest.approx(clone.eval_loss, rel=1e-6)
    stores = list((tmp_path / "scratch" / "tokens").iterdir())
    assert len(stores) == 1 and stores[0].name.startswith(f"dataset-{dataset.pk}-")
