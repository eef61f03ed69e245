"""Which jobs: the rules for seeing them, and the fair claim a free worker makes.

JobQuerySet is Job.objects (jobs/models/job.py). `job_state_changed` is sent for every change of
a job's state; the claim here and the lifecycle methods on Job send it.
"""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Self

from django.conf import settings
from django.db import connection, models
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone

from accounts.teams.models import Membership
from jobs.models.share import JobShare

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    from jobs.models.job import Job

# Sent once for every change of a job's state, right after its state event is written (inside
# the caller's transaction): job=the job as it is now, status=its new state. Notifications
# (jobs.notifications.events) listen; nothing else may act on a state change behind _move.
job_state_changed = Signal()


class JobQuerySet(models.QuerySet["Job"]):
    def for_user(self, user: "User") -> Self:
        """The user's own jobs, in any space: what their quotas count."""
        return self.filter(owner=user)

    def visible_to(self, user: "User | AnonymousUser", *, lazy: bool = False) -> Self:
        """What `user` may see: their own jobs, their teams' jobs and jobs shared with them. The
        one "visible to" rule for jobs (jobs.sharing.access has the "may change" check).

        The user's team ids and shared job ids are read first (two small indexed queries): as
        literal lists, PostgreSQL combines the owner, team and id indexes (a bitmap OR), where
        subqueries made it walk every job of every user (measured: 14 ms at 30,000 jobs for a
        user with none, growing with the table). lazy=True keeps them as subqueries, for one
        statement narrowed by id anyway (the live page's poll)."""
        if not user.is_authenticated:
            return self.none()
        shares = JobShare.objects.filter(user=user).values_list("job_id", flat=True)
        return self.filter(
            Q(owner=user)
            | Q(team__in=Membership.objects.team_ids(user, lazy=lazy))
            | Q(pk__in=shares if lazy else list(shares))
        )

    def active(self) -> Self:
        # A paused job will run again: it keeps its datasets in use like a queued one.
        status = self.model.Status
        return self.filter(status__in=[status.QUEUED, status.RUNNING, status.PAUSED])

    def stale(self, *, seconds: float | None = None) -> Self:
        """Running jobs whose worker has not written a heartbeat for a while."""
        seconds = seconds or settings.JOB_HEARTBEAT_TIMEOUT_S
        cutoff = timezone.now() - timedelta(seconds=seconds)
        return self.filter(status=self.model.Status.RUNNING, heartbeat_at__lt=cutoff)

    def create_queued(self, **fields: Any) -> "Job":
        """A new job, queued, with the state event that opens its log."""
        job = self.create(status=self.model.Status.QUEUED, **fields)
        job.log("Queued", kind="state", data={"status": self.model.Status.QUEUED})
        job_state_changed.send(sender=self.model, job=job, status=self.model.Status.QUEUED)
        return job

    def claim(self, job_id: int, worker: str) -> "Job | None":
        """The job for `worker` to run, now running, or None: it is not queued any more (another
        worker has it, it was cancelled) or no longer exists."""
        job = self.filter(pk=job_id).first()
        return job if job is not None and job.claim(worker) else None

    def claim_next(self, pool: str, worker: str) -> "Job | None":
        """The fairest queued job of `pool`, now running for `worker`, or None: one statement.

        Fair share: the job of the user with the fewest running jobs in the pool; among users
        running as many, the one whose last job in the pool started longest ago (so short jobs
        still go round the users, not back to whoever queued first); oldest first within a
        user. A user already running USER_MAX_RUNNING_JOBS jobs (any pool) waits. On
        PostgreSQL the chosen row is locked with SKIP LOCKED, so concurrent workers each take a
        different job without waiting on one another and never the same one; only each user's
        oldest queued job is a candidate, so a worker that skips a row another is claiming
        moves on to another user, not to that user's next job. SQLite runs writers one at a
        time (transaction_mode IMMEDIATE), so it needs no lock clause."""
        table = self.model._meta.db_table
        lock = " FOR UPDATE OF j SKIP LOCKED" if connection.vendor == "postgresql" else ""
        now = timezone.now()
        running, queued = self.model.Status.RUNNING, self.model.Status.QUEUED
        sql = f"""
            UPDATE {table} SET status = %s, worker = %s, heartbeat_at = %s,
                started_at = COALESCE(started_at, %s), error = ''
            WHERE id = (
                SELECT j.id FROM {table} j
                LEFT JOIN (SELECT owner_id, COUNT(*) AS total,
                                  SUM(CASE WHEN pool = %s THEN 1 ELSE 0 END) AS in_pool
                           FROM {table} WHERE status = %s GROUP BY owner_id) r
                       ON r.owner_id = j.owner_id
                LEFT JOIN (SELECT owner_id, MAX(started_at) AS last_start FROM {table}
                           WHERE pool = %s AND started_at >= %s GROUP BY owner_id) l
                       ON l.owner_id = j.owner_id
                WHERE j.status = %s AND j.pool = %s AND NOT j.cancel_requested
                  AND COALESCE(r.total, 0) < %s
                  AND j.id = (
                      SELECT o.id FROM {table} o
                      WHERE o.owner_id = j.owner_id AND o.status = j.status AND o.pool = j.pool
                        AND NOT o.cancel_requested
                      ORDER BY o.created_at, o.id LIMIT 1)
                ORDER BY COALESCE(r.in_pool, 0),
                         CASE WHEN l.last_start IS NULL THEN 0 ELSE 1 END, l.last_start,
                         j.created_at, j.id
                LIMIT 1{lock}
            ) AND status = %s
            RETURNING id"""
        params: list[str | int | datetime]
        params = [running, worker, now, now, pool, running, pool, now - timedelta(days=1)]
        params += [queued, pool, settings.USER_MAX_RUNNING_JOBS, queued]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        job = self.get(pk=row[0])
        data = {"status": running, "worker": worker}
        job.log(f"Running on worker {worker}", kind="state", data=data)
        job_state_changed.send(sender=self.model, job=job, status=running)
        return job
