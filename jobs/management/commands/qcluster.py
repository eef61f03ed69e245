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

import os
import signal

from django.db import connection
from django_q.cluster import Cluster
from django_q.management.commands.qcluster import Command as DjangoQCommand
from django_q.signals import post_spawn

from jobs.fleet import services as fleet
from jobs.training import worker as training_worker

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def _worker_takes_sigterm(sender, proc_name, **kwargs):
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


class FleetCluster(Cluster):
    """A cluster that, told to stop, first marks its worker stopping in the registry: a running
    job then writes a checkpoint and returns to the queue (preempted) instead of the stop
    waiting for it to finish training."""

    worker_id = None

    def sig_handler(self, signum, frame):
        if self.worker_id is not None:
            try:
                fleet.worker_stopping(worker_id=self.worker_id)
            finally:
                connection.close()
        super().sig_handler(signum, frame)


class Command(DjangoQCommand):
    help = "Starts the django-q2 cluster; SIGTERM or SIGINT to it or its whole group stops it."

    def handle(self, *args, **options):
        """1. Register this worker (pool, kind, device, memory) and keep it seen from a thread;
           top up its pool's tickets.
        2. Start the cluster with stop signals blocked in every process it forks.
        3. On exit, mark the worker stopped."""
        if options.get("cluster_name"):
            os.environ["Q_CLUSTER_NAME"] = options["cluster_name"]
        post_spawn.connect(_worker_takes_sigterm, dispatch_uid="tuner-worker-sigterm")
        worker = fleet.worker_register()
        # Queued jobs of this pool whose tickets were lost (with a killed worker, or never
        # handed out by one that stopped) get new ones now that a worker is here.
        training_worker.job_top_up(pool=worker.pool)
        # The processes forked below must not inherit this process's database connection.
        connection.close()
        beat = fleet.RegistryBeat(worker.pk).start()
        FleetCluster.worker_id = worker.pk
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            # Returns once the sentinel and its processes run (all forked with the mask above).
            cluster = FleetCluster()
            cluster.start()
            if options.get("run_once", False):
                cluster.stop()
        finally:
            # Here a signal that arrived meanwhile is delivered to the cluster's own handler.
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        if cluster.sentinel is not None:
            cluster.sentinel.join()
        beat.stop()
        fleet.worker_stopped(worker_id=worker.pk)
        connection.close()
