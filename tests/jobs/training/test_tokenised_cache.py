"""A worker tokenises a dataset once: a second job on it (a clone, a resumed job) reads the
tokens from the worker's cache, and the job's log says which happened."""

import pytest

from jobs.engine import data
from jobs.engine.tokenizer import gpt2_tokenizer
from jobs.models import Job, JobEvent
from jobs.training.recording import JobCallbacks
from tests.jobs.factories import make_job
from tests.jobs.training.runs import launch, make_dataset


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
    # The precision auto-configuration chose (bf16 where the CPU has bf16 instructions) is the
    # one the engine ran in, and the log says so.
    ran_in = {"bf16": "bfloat16", "fp32": "float32"}[first.hyperparameters["precision"]]
    assert any(m.startswith(f"Training started on cpu ({ran_in}, ") for m in log(first))
    assert "Training data read from this worker's cache: 40 examples" in log(clone)
    assert first.eval_loss == pytest.approx(clone.eval_loss, rel=1e-6)
    stores = list((tmp_path / "scratch" / "tokens").iterdir())
    assert len(stores) == 1 and stores[0].name.startswith(f"dataset-{dataset.pk}-")


@pytest.mark.django_db
def test_tokenising_a_large_dataset_logs_each_tenth_once(owner, monkeypatch):
    monkeypatch.setattr(data, "CHUNK_EXAMPLES", 75)  # 14 chunks of 1,000 examples
    job = make_job(owner, status=Job.Status.RUNNING)
    examples = [[(f"line {i} of the data", True)] for i in range(1000)]
    source = data.Examples(read=lambda: iter(examples), count=len(examples))
    callbacks = JobCallbacks(job, worker="w")
    progress = []

    def report(done, total):
        progress.append(done)
        callbacks.on_tokenise({"split": "training", "done": done, "total": total})

    data.load_or_tokenise(source, gpt2_tokenizer(), kind="text", cache_dir=None, on_progress=report)

    lines = list(
        JobEvent.objects.filter(job=job, message__startswith="Tokenised").values_list(
            "message", flat=True
        )
    )
    assert lines == [f"Tokenised {p}% of 1,000 training examples" for p in range(10, 100, 10)]
    assert progress[-1] == 1000
