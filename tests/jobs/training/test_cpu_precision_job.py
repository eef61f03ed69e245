"""The precision auto-configuration picks for a CPU job comes from the web server's CPU; the
worker that runs it decides again from its own, unless the user asked for one."""

import pytest

from jobs.models import Job, JobEvent
from tests.jobs.training.runs import FAST, launch, make_dataset


@pytest.mark.django_db
@pytest.mark.parametrize("requested, ran_in", [(None, "float32"), ("bf16", "bfloat16")])
def test_a_cpu_worker_decides_an_auto_chosen_precision_from_its_own_cpu(
    owner, settings, django_capture_on_commit_callbacks, monkeypatch, requested, ran_in
):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    monkeypatch.setenv("CPU_BF16", "1")  # the web server's CPU has bf16 instructions
    dataset = make_dataset(owner)
    hyperparameters = {**FAST, **({"precision": requested} if requested else {})}
    with django_capture_on_commit_callbacks() as queued:
        job = launch(owner, dataset, hyperparameters=hyperparameters)
    assert job.hyperparameters["precision"] == "bf16"

    monkeypatch.setenv("CPU_BF16", "0")  # the worker's has none
    for enqueue in queued:
        enqueue()
    job.refresh_from_db()

    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.actual["precision"] == {"float32": "fp32", "bfloat16": "bf16"}[ran_in]
    log = JobEvent.objects.filter(job=job).values_list("message", flat=True)
    assert any(m.startswith(f"Training started on cpu ({ran_in}, ") for m in log), list(log)
