"""What notifications cost: the time a job state change takes with 0, 1 and 5 webhooks
subscribed (the receiver in jobs/notifications/events.py runs inside every change), and how
many signed deliveries per second one worker sends to a local receiver.

Usage:  .venv/bin/python bench/notifications.py [--changes 200] [--deliveries 300]
        (DATABASE_URL=postgres://… to measure on PostgreSQL; default a fresh SQLite file)

1. Migrate a fresh database; one user with a dataset row.
2. Without the notifications receiver, then for each number of webhooks: launch-and-cancel
   jobs (two state changes each, the second one also writes a menu entry), timing each change
   with its deliveries queued (Q_SYNC off: the tasks are only enqueued, as in production).
3. Create deliveries to an HTTP receiver on 127.0.0.1 and send them with the retry sweep's code
   path (webhook_deliver: lock, sign, POST, record); print deliveries per second.
"""

import argparse
import os
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECEIVER_UID = "jobs.notifications.job_state"


def setup_django(workdir):
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    os.environ["MEDIA_ROOT"] = str(workdir / "media")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tunerproject.settings")
    os.environ.update(Q_SYNC="0", WEBHOOK_ALLOW_PRIVATE="1", LOG_LEVEL="ERROR")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def time_state_changes(user, dataset, changes, hooks, url):
    from jobs.models import Job, Webhook

    Webhook.objects.all().delete()
    for _ in range(hooks):
        Webhook.objects.create(owner=user, url=url, events=["job.queued", "job.cancelled"])
    started = time.perf_counter()
    for i in range(changes // 2):
        job = Job.objects.create_queued(owner=user, name=f"bench {i}", dataset=dataset)
        job.request_cancel()
    return (time.perf_counter() - started) / (changes // 2 * 2) * 1000


def time_deliveries(count, url):
    from django.contrib.auth import get_user_model

    from jobs.models import Webhook, WebhookDelivery
    from jobs.notifications.services import webhook_deliver

    hook = Webhook.objects.create(owner=get_user_model().objects.first(), url=url, events=[])
    payload = {"id": "msg_bench", "type": "job.succeeded", "created_at": "", "data": {"x": 1}}
    ids = [
        WebhookDelivery.objects.create(
            webhook=hook, event_id=f"msg_{i}", event_type="job.succeeded", payload=payload
        ).pk
        for i in range(count)
    ]
    started = time.perf_counter()
    states = [webhook_deliver(delivery_id=pk) for pk in ids]
    elapsed = time.perf_counter() - started
    assert states.count("succeeded") == count, states
    return count / elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--deliveries", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        setup_django(Path(workdir))
        from django.contrib.auth import get_user_model

        from jobs.models import Dataset

        server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}/hook"
        user = get_user_model().objects.create_user("bench", "bench@example.com", "x" * 20)
        dataset = Dataset.objects.create(
            owner=user, name="d", original_filename="d.txt", file="d", format="txt"
        )
        engine = os.environ["DATABASE_URL"].split(":")[0]
        print(f"database: {engine}; {args.changes} state changes per row")
        from jobs.models import job_state_changed
        from jobs.notifications.events import on_job_state_changed

        job_state_changed.disconnect(on_job_state_changed, dispatch_uid=RECEIVER_UID)
        ms = time_state_changes(user, dataset, args.changes, 0, url)
        print(f"  state change without notifications (receiver disconnected): {ms:.2f} ms")
        job_state_changed.connect(on_job_state_changed, dispatch_uid=RECEIVER_UID)
        for hooks in (0, 1, 5):
            ms = time_state_changes(user, dataset, args.changes, hooks, url)
            print(f"  state change with {hooks} webhook(s) subscribed: {ms:.2f} ms")
        rate = time_deliveries(args.deliveries, url)
        print(f"signed deliveries to a local receiver, one worker: {rate:.0f}/s")
        server.shutdown()


if __name__ == "__main__":
    main()
