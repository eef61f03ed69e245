"""`manage.py qcluster`, stopping cleanly however it is told to stop.

django-q2 stops in order when its main process gets SIGTERM or SIGINT: the pusher stops, each
worker finishes its task and takes a poison pill, the monitor drains the results. But systemd
(and a terminal's Ctrl-C) signal every process of the group at once: the sentinel, which resets
SIGTERM to its default, dies at once, possibly holding a lock the main process then waits on
forever, and leaves its children unreaped.

So the cluster's processes are forked with SIGTERM and SIGINT blocked (a fork inherits the
signal mask): only the main process acts on them, and it stops the others in order. Workers
take SIGTERM back as they start (django-q ends a timed-out task with it, and a worker stopped by
its own SIGTERM is requeued by the reaper); SIGINT stays blocked in them, so Ctrl-C finishes
their task rather than raising KeyboardInterrupt inside it.
"""

import signal

from django_q.management.commands.qcluster import Command as DjangoQCommand
from django_q.signals import post_spawn

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def _worker_takes_sigterm(sender, proc_name, **kwargs):
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


class Command(DjangoQCommand):
    help = "Starts the django-q2 cluster; SIGTERM or SIGINT to it or its whole group stops it."

    def handle(self, *args, **options):
        post_spawn.connect(_worker_takes_sigterm, dispatch_uid="tuner-worker-sigterm")
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            # Returns once the sentinel and its processes run (all forked with the mask above).
            super().handle(*args, **options)
        finally:
            # Here a signal that arrived meanwhile is delivered to the cluster's own handler.
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
