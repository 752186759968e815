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
import psycopg_pool
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
]

job_app = procrastinate.App(connector=procrastinate.PsycopgConnector())


def load_task_modules() -> None:
    for module in TASK_MODULES:
        importlib.import_module(module)


async def defer_in_tx(
    session: AsyncSession,
    task_name: str,
    args: dict[str, Any],
    *,
    queue: str = "default",
    priority: int = 0,
    lock: str | None = None,
    queueing_lock: str | None = None,
    scheduled_at: datetime | None = None,
) -> int:
    """Queue a job as part of the session's transaction; returns the job id."""
    job_id = await session.scalar(
        text(
            "SELECT (procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, :priority, :lock, :qlock,"
            " CAST(:args AS jsonb), :at)::procrastinate_job_to_defer_v1]))[1]"
        ),
        {
            "queue": queue,
            "task": task_name,
            "priority": priority,
            "lock": lock,
            "qlock": queueing_lock,
            "args": json.dumps(args),
            "at": scheduled_at,
        },
    )
    return int(job_id)


class JobRunner:
    """Opens the job app on its own small pool and (optionally) runs a worker in-process."""

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
            self._worker = asyncio.create_task(
                job_app.run_worker_async(
                    concurrency=self._concurrency,
                    install_signal_handlers=False,
                    wait=True,
                    name="sodam-in-process",
                ),
                name="sodam-worker",
            )

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
