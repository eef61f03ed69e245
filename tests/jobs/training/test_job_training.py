"""Jobs end to end through the real django-q2 task path (sync mode) and the real engine on the
built-in tiny model: launch, succeed, duplicate delivery, cancel, the reaper, failures."""

import json
import threading
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from django_q.models import OrmQ
from transformers import AutoModelForCausalLM

from jobs.datasets.services import dataset_create
from jobs.models import BaseModel, Checkpoint, Job, JobEvent, MetricPoint
from jobs.training import tasks
from jobs.training.downloads import job_model_zip
from jobs.training.services import job_cancel
from jobs.training.worker import failure_reason, job_reap_stale
from tests.jobs.training.runs import FAST, WORDS, launch, make_dataset


@pytest.mark.django_db
def test_a_launched_job_trains_and_leaves_a_loadable_model_and_a_redelivery_does_nothing(
    owner, sync_queue, django_capture_on_commit_callbacks, settings
):
    dataset = make_dataset(owner)
    with django_capture_on_commit_callbacks(execute=True):
        job = launch(
            owner, dataset, validation_dataset=make_dataset(owner, lines=12, name="held-out")
        )
    job.refresh_from_db()

    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.step == job.total_steps > 0
    points = MetricPoint.objects.filter(job=job)
    assert points.exclude(train_loss=None).exists() and points.exclude(eval_loss=None).exists()
    assert (
        points.exclude(learning_rate=None)
        .exclude(grad_norm=None)
        .exclude(tokens_per_second=None)
        .exists()
    )
    # Every point, evaluations included, says how far through the epochs its step is.
    steps_per_epoch = job.total_steps / job.hyperparameters["epochs"]
    for point in points:
        assert point.epoch == pytest.approx(point.step / steps_per_epoch)
    kinds = set(JobEvent.objects.filter(job=job).values_list("kind", flat=True))
    assert {"state", "eval", "checkpoint", "sample"} <= kinds
    messages = list(JobEvent.objects.filter(job=job).values_list("message", flat=True))
    preparing = f"Preparing: tokenising {dataset.num_examples:,} examples and loading the model"
    assert preparing in messages
    assert Checkpoint.objects.filter(job=job, is_final=False).exists()
    assert set(job.actual) >= {
        "seconds",
        "tokens_per_second",
        "peak_memory_bytes",
        "device",
        "cost",
        "total_steps",
    }
    assert len(job.samples) == 3 and all(s["prompt"] for s in job.samples)

    folder = Path(settings.MEDIA_ROOT) / job.output_dir / "model"
    model = AutoModelForCausalLM.from_pretrained(folder)
    assert model.config.n_layer == BaseModel.objects.get(key="builtin-tiny").layers
    card = (folder / "README.md").read_text()
    assert "learning_rate" in card and "eval loss" in card.lower() and "held-out" in card
    with zipfile.ZipFile(job_model_zip(job=job)) as archive:
        names = set(archive.namelist())
    assert {
        "model/config.json",
        "model/model.safetensors",
        "model/generation_config.json",
        "model/tokenizer.json",
        "model/README.md",
    } <= names

    points = MetricPoint.objects.filter(job=job).count()
    assert tasks.job_run_task(job.pk) == "skipped"  # the broker delivering the same task again
    job.refresh_from_db()
    assert (
        job.status == Job.Status.SUCCEEDED and MetricPoint.objects.filter(job=job).count() == points
    )


@pytest.mark.django_db
def test_a_task_for_a_job_another_worker_runs_leaves_it_alone(owner):
    job = launch(owner, make_dataset(owner))
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING, worker="elsewhere:1:abc", heartbeat_at=timezone.now()
    )

    assert tasks.job_run_task(job.pk) == "skipped"
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING and job.worker == "elsewhere:1:abc"


@pytest.mark.django_db
def test_a_queued_job_cancelled_before_it_starts_never_runs(owner):
    job = launch(owner, make_dataset(owner))
    job = job_cancel(job=job)
    assert job.status == Job.Status.CANCELLED

    assert tasks.job_run_task(job.pk) == "skipped"
    assert not MetricPoint.objects.filter(job=job).exists()


@pytest.mark.django_db(transaction=True)
def test_a_running_job_stops_within_seconds_of_a_cancel_and_keeps_its_checkpoints(owner, settings):
    settings.JOB_CHECKPOINTS_KEPT = 100
    job = launch(
        owner,
        make_dataset(owner, lines=400),
        hyperparameters={**FAST, "save_steps": 2, "batch_size": 2},
    )
    worker = threading.Thread(target=tasks.job_run_task, args=(job.pk,))
    worker.start()
    deadline = time.monotonic() + 60
    while not Checkpoint.objects.filter(job=job).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    job_cancel(job=job)
    asked = time.monotonic()
    worker.join(timeout=30)

    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert time.monotonic() - asked < 10
    assert job.step < job.total_steps
    kept = Checkpoint.objects.filter(job=job)
    assert kept.exists() and all((Path(settings.MEDIA_ROOT) / c.path).is_dir() for c in kept)
    last = JobEvent.objects.filter(job=job, kind="state").last().message
    assert last.startswith(f"Cancelled at step {job.step}; {kept.count()} checkpoint")


@pytest.mark.django_db
def test_a_nul_character_in_the_data_does_not_fail_a_trained_job_at_its_samples(
    owner, sync_queue, django_capture_on_commit_callbacks
):
    # PostgreSQL cannot store a NUL in a JSON column; samples quote the data and the model.
    rows = [json.dumps({"text": f"{WORDS[i % len(WORDS)]}\u0000 line {i}"}) for i in range(40)]
    upload = SimpleUploadedFile("nul.jsonl", "\n".join(rows).encode())
    dataset = dataset_create(owner=owner, upload=upload, name="nul")
    assert dataset.is_valid, dataset.errors
    with django_capture_on_commit_callbacks(execute=True):
        job = launch(owner, dataset)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.samples and all("\x00" not in s["prompt"] + s["output"] for s in job.samples)


@pytest.mark.django_db
def test_the_reaper_requeues_a_job_whose_worker_died_with_a_new_task(
    owner, django_capture_on_commit_callbacks
):
    job = launch(owner, make_dataset(owner))
    stale = timezone.now() - timedelta(hours=1)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING, worker="dead:1:x", heartbeat_at=stale
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert job_reap_stale() == [job.pk]
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED and job.restart_count == 1 and not job.worker
    assert OrmQ.objects.count() == 1  # the task that will resume it
    assert JobEvent.objects.filter(job=job, message__contains="queued again").exists()


@pytest.mark.django_db
def test_a_cancel_arriving_while_the_reaper_runs_ends_cancelled_not_queued_forever(owner):
    from django.db.models.signals import post_save

    dataset = make_dataset(owner)
    jobs = [launch(owner, dataset), launch(owner, dataset)]
    Job.objects.filter(pk__in=[job.pk for job in jobs]).update(
        status=Job.Status.RUNNING,
        worker="dead:1:x",
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )
    cancelled = []

    def user_cancels_the_other_job(sender, instance, created, **kwargs):
        # The reaper has read both jobs; the user's cancel lands before it reaches the other.
        if created and "queued again" in instance.message and not cancelled:
            other = next(job for job in jobs if job.pk != instance.job_id)
            cancelled.append(job_cancel(job=other))

    post_save.connect(user_cancels_the_other_job, sender=JobEvent)
    try:
        job_reap_stale()
    finally:
        post_save.disconnect(user_cancels_the_other_job, sender=JobEvent)
    job_reap_stale()  # the next minute's run

    assert Job.objects.get(pk=cancelled[0].pk).status == Job.Status.CANCELLED


@pytest.mark.django_db
def test_the_reaper_fails_a_job_past_the_restart_limit_with_the_reason(owner, settings):
    job = launch(owner, make_dataset(owner))
    stale = timezone.now() - timedelta(hours=1)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING,
        worker="dead:1:x",
        heartbeat_at=stale,
        restart_count=settings.JOB_MAX_RESTARTS,
    )

    job_reap_stale()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "restarted" in job.error and "stopped responding" in job.error


@pytest.mark.django_db
def test_the_reaper_leaves_a_job_with_a_fresh_heartbeat_alone(owner):
    job = launch(owner, make_dataset(owner))
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING, worker="alive:1:x", heartbeat_at=timezone.now()
    )

    assert job_reap_stale() == []
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING


@pytest.mark.django_db
def test_a_base_model_folder_gone_before_the_job_runs_fails_it_readably_and_the_worker_goes_on(
    owner, tmp_path
):
    folder = tmp_path / "house-model"
    AutoModelForCausalLM.from_config(_tiny_config()).save_pretrained(folder)
    BaseModel.objects.create(
        key="house",
        display_name="House model",
        source=BaseModel.Source.LOCAL,
        local_path=str(folder),
    )
    dataset = make_dataset(owner)
    doomed = launch(owner, dataset, base_model_key="house")
    (folder / "config.json").unlink()

    # The task returns normally, so the worker process goes on to its next task.
    assert tasks.job_run_task(doomed.pk) == "failed"
    doomed.refresh_from_db()

    assert doomed.status == Job.Status.FAILED
    assert "base model could not be loaded" in doomed.error
    failure = JobEvent.objects.get(job=doomed, level="error")
    assert "Traceback" in failure.data["traceback"]


@pytest.mark.django_db
def test_a_dataset_file_missing_at_run_time_fails_the_job_with_the_reason(owner):
    dataset = make_dataset(owner)
    job = launch(owner, dataset)
    dataset.file.storage.delete(dataset.file.name)

    assert tasks.job_run_task(job.pk) == "failed"
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "FileNotFoundError" in job.error
    assert "Traceback" in JobEvent.objects.get(job=job, level="error").data["traceback"]


def test_out_of_memory_and_a_full_disk_read_as_advice():
    assert "smaller batch_size" in failure_reason(MemoryError())
    assert "disk is full" in failure_reason(OSError(28, "No space left on device"))


@pytest.mark.django_db
def test_launching_refuses_another_users_dataset_and_an_unavailable_model(
    owner, other_user, settings, tmp_path
):
    settings.BASE_MODELS_DIR = str(tmp_path / "empty")
    theirs = make_dataset(other_user)
    with pytest.raises(ValidationError) as refused:
        launch(owner, theirs)
    assert "dataset" in refused.value.message_dict

    with pytest.raises(ValidationError) as refused:
        launch(owner, make_dataset(owner), base_model_key="gpt2-xl")
    assert "cannot be reached" in refused.value.message_dict["base_model"][0]
    assert not Job.objects.exists()


def _tiny_config():
    from transformers import GPT2Config

    return GPT2Config(n_layer=1, n_head=2, n_embd=32, n_positions=64)


@pytest.mark.django_db
def test_the_reaper_is_scheduled_every_minute_exactly_once():
    from django_q.models import Schedule

    tasks.ensure_schedules()  # as after a second migrate
    schedule = Schedule.objects.get(func="jobs.training.tasks.job_reap_stale_task")
    assert schedule.schedule_type == Schedule.MINUTES and schedule.minutes == 1


@pytest.mark.django_db
def test_a_schedule_made_before_the_tasks_moved_runs_the_task_where_it_is_now():
    """An installation migrated before the reorganisation has its schedules pointing at
    jobs.tasks and jobs.notifications.tasks paths that are gone; the next migrate repoints them
    instead of leaving a reaper that fails every minute."""
    from django.utils.module_loading import import_string
    from django_q.models import Schedule

    from jobs.notifications import tasks as notification_tasks

    Schedule.objects.filter(name=tasks.REAPER_SCHEDULE_NAME).update(
        func="jobs.tasks.job_reap_stale_task"
    )
    tasks.ensure_schedules()
    notification_tasks.ensure_schedule()

    reaper = Schedule.objects.get(name=tasks.REAPER_SCHEDULE_NAME)
    assert reaper.func == "jobs.training.tasks.job_reap_stale_task"
    assert Schedule.objects.filter(name=tasks.REAPER_SCHEDULE_NAME).count() == 1
    sweep = Schedule.objects.get(name=notification_tasks.SWEEP_SCHEDULE_NAME)
    assert sweep.func == "jobs.notifications.tasks.webhook_deliver_due_task"
    assert callable(import_string(reaper.func)) and callable(import_string(sweep.func))


@pytest.mark.django_db
def test_reaper_tasks_piled_up_behind_a_long_job_run_once_not_once_each(
    owner, django_capture_on_commit_callbacks
):
    from django_q.tasks import async_task

    # What the every-minute schedule leaves in the queue while the only worker trains.
    for _ in range(3):
        async_task("jobs.training.tasks.job_reap_stale_task", sync=False)
    with django_capture_on_commit_callbacks(execute=True):
        job = launch(owner, make_dataset(owner))
    assert OrmQ.objects.count() == 4

    tasks.job_reap_stale_task()  # the first of them to reach a worker
    assert [task.func() for task in OrmQ.objects.all()] == ["jobs.training.tasks.job_run_task"]
    assert OrmQ.objects.get().args() == (job.pk,)


@pytest.mark.django_db
def test_a_job_requeued_for_a_dead_worker_is_not_also_taken_for_a_lost_task(owner, settings):
    settings.JOB_MAX_RESTARTS = 3
    job = launch(owner, make_dataset(owner))
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING,
        worker="dead:1:x",
        heartbeat_at=timezone.now() - timedelta(hours=1),
        created_at=timezone.now() - timedelta(hours=2),
        queued_at=timezone.now() - timedelta(hours=2),
        restart_count=2,
    )
    # Inside one transaction the new task is enqueued only at commit, after both checks ran.
    with transaction.atomic():
        assert tasks.job_reap_stale_task() == [job.pk]
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED and job.restart_count == 3


def lose_task(job):
    """Delete the job's task from the queue, as a flush or a task failing before its claim does."""
    OrmQ.objects.filter(pk__in=[t.pk for t in OrmQ.objects.all() if t.args() == (job.pk,)]).delete()


@pytest.mark.django_db
def test_a_queued_job_whose_task_left_the_queue_gets_a_new_one_then_fails_past_the_limit(
    owner, settings, django_capture_on_commit_callbacks
):
    settings.JOB_MAX_RESTARTS = 1
    dataset = make_dataset(owner)
    with django_capture_on_commit_callbacks(execute=True):
        lost, waiting = launch(owner, dataset), launch(owner, dataset)
        just_queued = launch(owner, dataset)  # its task may not be in the queue yet
    Job.objects.exclude(pk=just_queued.pk).update(queued_at=timezone.now() - timedelta(minutes=5))
    lose_task(lost)
    lose_task(just_queued)

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.job_reap_stale_task() == [lost.pk]
    assert sorted(task.args()[0] for task in OrmQ.objects.all()) == sorted([lost.pk, waiting.pk])
    assert Job.objects.get(pk=just_queued.pk).restart_count == 0
    lost.refresh_from_db()
    assert lost.status == Job.Status.QUEUED and lost.restart_count == 1
    assert lost.events.filter(message__contains="left the queue without running it").exists()

    lose_task(lost)
    Job.objects.filter(pk=lost.pk).update(queued_at=timezone.now() - timedelta(minutes=5))
    assert tasks.job_reap_stale_task() == [lost.pk]
    lost.refresh_from_db()
    assert lost.status == Job.Status.FAILED and "restarted 1 times (the limit)" in lost.error
    assert Job.objects.get(pk=waiting.pk).status == Job.Status.QUEUED


@pytest.mark.django_db
def test_a_lora_job_on_prompt_completion_data_exports_the_adapter_and_a_merged_model(
    owner, sync_queue, django_capture_on_commit_callbacks, settings
):
    rows = [
        json.dumps({"prompt": f"Q: what is {i} plus one?", "completion": f" {i + 1}"})
        for i in range(30)
    ]
    dataset = dataset_create(
        owner=owner, upload=SimpleUploadedFile("qa.jsonl", "\n".join(rows).encode()), name="qa"
    )
    assert dataset.kind == "prompt_completion"
    with django_capture_on_commit_callbacks(execute=True):
        job = launch(owner, dataset, method="lora", hyperparameters={**FAST, "lora_r": 4})
    job.refresh_from_db()

    assert job.status == Job.Status.SUCCEEDED, job.error
    folder = Path(settings.MEDIA_ROOT) / job.output_dir
    assert (folder / "adapter" / "adapter_model.safetensors").exists()
    AutoModelForCausalLM.from_pretrained(folder / "model")
    assert all(sample["prompt"].startswith("Q: what is") for sample in job.samples)
