"""django-q2's database broker, taking no more tickets than the cluster has workers free.

The stock pusher takes the next task from the database as soon as there is room in its local
queue (`queue_limit`), and blocks handing it over while every worker is busy. With tickets that
any worker may serve, that is harmful twice: a busy machine sits on tickets an idle machine
could use, and a stop (SIGTERM) waits forever on a pusher blocked mid-hand-over (django-q2
stops the pusher first). So this broker hands out a task only while fewer of its tasks than
the cluster's workers are still in the database unacknowledged (a task's row is deleted when
its result is saved): the pusher never blocks, and a waiting ticket stays in the database for
whichever worker is free first.
"""

import os
import time

from django_q.brokers.orm import ORM
from django_q.conf import Conf

from jobs.fleet.services import WORKER_ID_VARIABLE
from jobs.models.worker import Worker


class OneTaskPerWorker(ORM):
    # A ticket just handed out has this long to claim its job (and say so in the registry).
    CLAIM_WINDOW_S = 60

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._held, self._last_taken = [], 0.0

    def dequeue(self):
        if self._held:
            rows = self.get_connection().filter(pk__in=self._held)
            self._held = list(rows.values_list("pk", flat=True))
        if len(self._held) >= Conf.WORKERS and self._busy():
            time.sleep(Conf.POLL)
            return None
        tasks = super().dequeue()
        if tasks:
            self._held += [pk for pk, _ in tasks]
            self._last_taken = time.monotonic()
        return tasks

    def _busy(self):
        """Whether the tickets held are still being worked on: the registry shows a job
        running here, or one was taken a moment ago. A job process that died (killed, stalled)
        never acknowledges its ticket, so an unacknowledged ticket alone proves nothing."""
        if time.monotonic() - self._last_taken < self.CLAIM_WINDOW_S:
            return True
        worker_id = os.environ.get(WORKER_ID_VARIABLE)
        if not worker_id:
            return False
        return Worker.objects.filter(pk=worker_id, current_job__isnull=False).exists()
