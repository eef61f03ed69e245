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

import time

from django_q.brokers.orm import ORM
from django_q.conf import Conf


class OneTaskPerWorker(ORM):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._held = []

    def dequeue(self):
        if self._held:
            rows = self.get_connection().filter(pk__in=self._held)
            self._held = list(rows.values_list("pk", flat=True))
        if len(self._held) >= Conf.WORKERS:
            time.sleep(Conf.POLL)
            return None
        tasks = super().dequeue()
        self._held += [pk for pk, _ in tasks or []]
        return tasks
