"""The procrastinate app, and deferring a job inside the caller's transaction.

Reactions (bot replies, routing, automations) are deferred in the same
transaction as the change that causes them: if it rolls back, no job exists; if
it commits, the job is durable and some worker (in `sodam serve` or a separate
`sodam worker`) runs it. The message path never waits for the reaction.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
from datetime import datetime
from typing import Any

import procrastinate
import procrastinate.worker
import psycopg
import psycopg_pool
import sqlalchemy.exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.db.session import libpq_url

log = logging.getLogger(__name__)

# Modules whose import registers tasks on `job_app` (each domain adds its own).
TASK_MODULES: list[str] = [
    "sodam.jobs.builtin",
    "sodam.conversations.tasks",
    "sodam.bot.tasks",
    "sodam.privacy.tasks",
    "sodam.knowledge.tasks",
    "sodam.search.tasks",
    "sodam.notifications.tasks",
    "sodam.routing.tasks",
    "sodam.sla.tasks",
    "sodam.mail.tasks",
    "sodam.webhooks.tasks",
    "sodam.surveys.tasks",
    "sodam.mentions.tasks",
    "sodam.voice.tasks",
    "sodam.kakao.tasks",
    "sodam.analytics.tasks",
    "sodam.contacts.tasks",
    "sodam.automations.tasks",
    "sodam.campaigns.tasks",
    "sodam.assist.tasks",
    "sodam.calls.tasks",
]
# Long-running loops every job-running process starts beside the job worker ("module:function",
# an async function that runs until cancelled): work that is polled rather than deferred.
WORKER_LOOPS: list[str] = ["sodam.webhooks.worker:run_forever", "sodam.automations.worker:run_forever"]

job_app = procrastinate.App(connector=procrastinate.PsycopgConnector())


# A job that met the database going away (a restart, a fail-over) runs again a little later
# rather than ending as failed; tasks that say how they retry keep their own strategy (with a
# backoff when they have none). Every
# task tolerates running twice (see retry_stalled_jobs), so a retry after such an error is safe.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    psycopg.OperationalError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    ConnectionError,
)
RETRY_TRANSIENT = procrastinate.RetryStrategy(
    max_attempts=5, exponential_wait=2, retry_exceptions=list(TRANSIENT_ERRORS)
)


def load_task_modules() -> None:
    for module in TASK_MODULES:
        importlib.import_module(module)
    for task in job_app.tasks.values():
        strategy = task.retry_strategy
        if strategy is None:
            task.retry_strategy = RETRY_TRANSIENT
        elif isinstance(strategy, procrastinate.RetryStrategy) and not (
            strategy.wait or strategy.linear_wait or strategy.exponential_wait
        ):
            # "retry=3" alone retries at once: all three tries could fall inside one database
            # restart. Back off instead (2, 4, 8 s ...).
            strategy.exponential_wait = 2


# Built once: every deferred job (the bot's assume-resolved job on each answer) ran text() anew.
# DEFER_JOB_SQL: for a caller that writes something else in the same statement (a WITH before it,
# its own parameters beside the job's), passed to defer_in_tx as `statement`.
def defer_job_sql(args_sql: str = "CAST(:args AS jsonb)") -> str:
    """The statement that queues one job; `args_sql`: its arguments as an SQL expression (a
    caller may add to them what only the transaction knows, as `:args` || …)."""
    return (
        "SELECT (procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, :priority, :lock, :qlock,"
        f" {args_sql}, :at)::procrastinate_job_to_defer_v1]))[1]"
    )


DEFER_JOB_SQL = defer_job_sql()
_DEFER_JOB = text(DEFER_JOB_SQL)


async def defer_in_tx(session: AsyncSession, task_name: str, args: dict[str, Any], **options: Any) -> int:
    """Queue a job as part of the session's transaction; returns the job id. `options`: those
    of defer_statement (queue, priority, lock, queueing_lock, scheduled_at; `statement`:
    DEFER_JOB_SQL with a write of the caller's before it — one round trip for both — and
    `params` that write's parameters)."""
    statement, values = defer_statement(task_name, args, **options)
    return int(await session.scalar(statement, values))


def defer_statement(
    task_name: str,
    args: dict[str, Any],
    *,
    queue: str = "default",
    priority: int = 0,
    lock: str | None = None,
    queueing_lock: str | None = None,
    scheduled_at: datetime | None = None,
    statement: Any = _DEFER_JOB,
    params: dict[str, Any] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """defer_in_tx's statement and its parameters, for a caller that sends it with others
    (db.pipeline)."""
    return statement, {
        **(params or {}),
        "queue": queue,
        "task": task_name,
        "priority": priority,
        "lock": lock,
        "qlock": queueing_lock,
        "args": json.dumps(args),
        "at": scheduled_at,
    }


# A worker writes a heartbeat every WORKER_HEARTBEAT_S; one silent for STALLED_AFTER_S is
# taken for dead (kill -9, a lost machine) and the jobs it was running are put back in the
# queue. Those jobs may then run twice, which every task tolerates: each one checks its
# effect under a row lock (the bot) or overwrites it with the same value (sentiment).
WORKER_HEARTBEAT_S = 2.0
STALLED_AFTER_S = 10.0
RECOVER_EVERY_S = 5.0
# A worker whose database went away (a restart, a failover) starts again after this pause.
RESTART_PAUSE_S = 1.0

# One statement, so a job another worker has just picked up is never taken from it: the row
# is locked and the worker's heartbeat checked again under that lock.
RETRY_STALLED_SQL = """
SELECT procrastinate_retry_job_v2(stalled.id, now(), NULL, NULL, NULL)
  FROM (SELECT job.id FROM procrastinate_jobs job
         WHERE job.status = 'doing'
           AND NOT EXISTS (SELECT 1 FROM procrastinate_workers w
                            WHERE w.id = job.worker_id
                              AND w.last_heartbeat > now() - make_interval(secs => %(stalled_s)s))
           FOR UPDATE OF job SKIP LOCKED) stalled
"""


async def retry_stalled_jobs(
    pool: psycopg_pool.AsyncConnectionPool, *, stalled_s: float = STALLED_AFTER_S
) -> int:
    """Put back in the queue the jobs of workers that stopped sending heartbeats; returns how many."""
    async with pool.connection() as conn, conn.transaction():
        # One recoverer at a time across all processes.
        cur = await conn.execute("SELECT pg_try_advisory_xact_lock(hashtext('sodam.retry_stalled_jobs'))")
        if not (await cur.fetchone())[0]:
            return 0
        cur = await conn.execute(RETRY_STALLED_SQL, {"stalled_s": stalled_s})
        return len(await cur.fetchall())


async def _run_loop(spec: str) -> None:
    """Run one of WORKER_LOOPS, starting it again after a failure."""
    module, _, name = spec.partition(":")
    function = getattr(importlib.import_module(module), name)
    while True:
        try:
            await function()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("%s stopped; starting it again in %.0f s", spec, RESTART_PAUSE_S, exc_info=True)
        await asyncio.sleep(RESTART_PAUSE_S)


class JobRunner:
    """Opens the job app on its own small pool and (optionally) runs a worker in-process.

    A worker here survives its database going away (it starts again, with a pause, for as
    long as it is not stopped), and every process that runs one also puts back in the queue
    the jobs of workers that died while running them.
    """

    def __init__(self, database_url: str, *, run_worker: bool, concurrency: int = 4):
        self._url = libpq_url(database_url)
        self._run_worker = run_worker
        self._concurrency = concurrency
        self._pool: psycopg_pool.AsyncConnectionPool | None = None
        self._worker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        load_task_modules()
        self._pool = psycopg_pool.AsyncConnectionPool(
            self._url,
            min_size=1,
            max_size=self._concurrency + 2,
            open=False,
            check=psycopg_pool.AsyncConnectionPool.check_connection,
        )
        await self._pool.open(wait=True)
        await job_app.open_async(pool=self._pool)
        if self._run_worker:
            self._worker = asyncio.create_task(self.work(name="sodam-in-process"), name="sodam-worker")

    async def work(self, *, queues: list[str] | None = None, name: str | None = None) -> None:
        """Run jobs until cancelled; cancelling lets the running jobs finish first."""
        current: list[procrastinate.worker.Worker | None] = [None]
        recoverer = asyncio.create_task(self._recover_forever(current), name="sodam-stalled-jobs")
        loops = [asyncio.create_task(_run_loop(spec), name=spec) for spec in WORKER_LOOPS]
        try:
            while True:
                worker = current[0] = procrastinate.worker.Worker(
                    app=job_app,
                    concurrency=self._concurrency,
                    queues=queues,
                    name=name,
                    wait=True,
                    install_signal_handlers=False,
                    update_heartbeat_interval=WORKER_HEARTBEAT_S,
                    stalled_worker_timeout=STALLED_AFTER_S,
                )
                try:
                    await worker.run()
                    # It returns on its own only when a side task (heartbeat, LISTEN) failed.
                    log.warning("job worker stopped; starting it again in %.0f s", RESTART_PAUSE_S)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.warning(
                        "job worker failed; starting it again in %.0f s", RESTART_PAUSE_S, exc_info=True
                    )
                await asyncio.sleep(RESTART_PAUSE_S)
        finally:
            recoverer.cancel()
            for loop in loops:
                loop.cancel()
            await asyncio.gather(*loops, return_exceptions=True)

    async def _recover_forever(self, current: list) -> None:
        suspects: set[int] = set()
        while True:
            try:
                if retried := await retry_stalled_jobs(self._pool):
                    log.warning("put %d job(s) of dead workers back in the queue", retried)
                suspects = await self._retry_orphans(current[0], suspects)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("could not check for stalled jobs", exc_info=True)
            await asyncio.sleep(RECOVER_EVERY_S)

    async def _retry_orphans(self, worker, suspects: set[int]) -> set[int]:
        """Jobs marked as running in this worker that it no longer runs: their end could not be
        recorded (the database went away just then), so nobody would ever finish them. A job is
        put back only when two checks in a row find it so (a job being picked up right now is
        briefly marked before it is running). Returns the new suspects."""
        if worker is None or worker.worker_id is None:
            return set()
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT id FROM procrastinate_jobs WHERE status = 'doing' AND worker_id = %s",
                (worker.worker_id,),
            )
            marked = {row[0] for row in await cur.fetchall()}
            running = {context.job.id for context in list(worker._running_jobs.values())}
            orphans = marked - running
            for job_id in orphans & suspects:
                await conn.execute(
                    "SELECT procrastinate_retry_job_v2(id, now(), NULL, NULL, NULL) FROM procrastinate_jobs"
                    " WHERE id = %s AND status = 'doing' AND worker_id = %s",
                    (job_id, worker.worker_id),
                )
                log.warning("put job %d back in the queue: its end was never recorded", job_id)
        return orphans - suspects

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            try:
                await asyncio.wait_for(self._worker, timeout=10)
            except (asyncio.CancelledError, TimeoutError, Exception):  # noqa: S110 - shutting down
                pass
        await job_app.close_async()
        if self._pool is not None:
            await self._pool.close()
