"""Emails when a job ends: received by a real SMTP server (aiosmtpd) the test starts, sent by the
queue's task through Django's SMTP backend, as each user chose on their profile page."""

import pytest

from jobs.models import EmailPreference, Job
from jobs.training.services import job_cancel
from tests.jobs.notifications.receivers import SmtpInbox
from tests.jobs.training.runs import launch, make_dataset


@pytest.fixture
def inbox(settings):
    with SmtpInbox() as inbox:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = inbox.port
        yield inbox


@pytest.fixture
def sync_queue(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}


@pytest.mark.django_db
def test_a_succeeded_job_emails_its_owner_its_metrics_time_cost_and_link(
    owner, inbox, sync_queue, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://tuner.example.org"
    with django_capture_on_commit_callbacks(execute=True):
        job = launch(owner, make_dataset(owner), name="Sonnets v2")
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED

    [(recipients, message)] = inbox.messages
    body = message.get_content()
    assert recipients == ["ada@example.com"]
    assert message["Subject"] == "Job “Sonnets v2” succeeded"
    assert f"Training loss:    {job.train_loss:.4f}" in body
    assert f"Validation loss:  {job.eval_loss:.4f}" in body
    assert f"Steps:            {job.step} of {job.total_steps}" in body
    assert "Time: 0 min " in body and f"Cost: {job.actual['cost']:.2f} USD" in body
    assert f"https://tuner.example.org/jobs/{job.pk}/" in body


@pytest.mark.django_db
def test_a_cancelled_job_is_emailed_only_to_those_who_asked_for_it(
    owner, other_user, inbox, sync_queue, client, password, django_capture_on_commit_callbacks
):
    # Ada keeps the defaults (succeeded and failed); Bob also asks for cancellations.
    client.login(username="bob", password=password)
    answer = client.post(
        "/notifications/email/", {"job_succeeded": "on", "job_cancelled": "on"}, follow=True
    )
    assert "Email choices saved" in answer.content.decode()
    prefs = EmailPreference.objects.get(user=other_user)
    assert (prefs.job_succeeded, prefs.job_failed, prefs.job_cancelled) == (True, False, True)

    for user in (owner, other_user):
        job = launch(user, make_dataset(user), name=f"{user.username}'s run")  # stays queued
        with django_capture_on_commit_callbacks(execute=True):
            job_cancel(job=job)

    assert [(to, m["Subject"]) for to, m in inbox.messages] == [
        (["bob@example.com"], "Job “bob's run” was cancelled")
    ]


@pytest.mark.django_db
def test_a_failed_job_email_says_why(owner, inbox, sync_queue, django_capture_on_commit_callbacks):
    job = launch(owner, make_dataset(owner), name="Doomed")
    mine = Job.objects.claim(job.pk, "host:1:a")
    with django_capture_on_commit_callbacks(execute=True):
        mine.fail("host:1:a", "Training ran out of memory. Try a smaller batch_size.")

    [(_, message)] = inbox.messages
    assert message["Subject"] == "Job “Doomed” failed"
    assert "Reason: Training ran out of memory. Try a smaller batch_size." in message.get_content()


@pytest.mark.django_db(transaction=True)
def test_a_worker_process_sends_the_email_when_its_job_ends(owner, monkeypatch, request):
    """A real qcluster process trains the job and sends the email to the SMTP server."""
    with SmtpInbox() as inbox:
        monkeypatch.setenv("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
        monkeypatch.setenv("EMAIL_HOST", "127.0.0.1")
        monkeypatch.setenv("EMAIL_PORT", str(inbox.port))
        # The worker's environment is read when the fixture starts, so after the lines above.
        start_worker = request.getfixturevalue("qcluster")
        job = launch(owner, make_dataset(owner), name="Worker-sent")
        start_worker()
        messages = inbox.wait(1)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert [m["Subject"] for _, m in messages] == ["Job “Worker-sent” succeeded"]
