"""The fan-out bus: PostgreSQL LISTEN/NOTIFY behind a small interface.

publish() runs inside the writer's transaction, so PostgreSQL delivers the
notification only after COMMIT (and never if the transaction rolls back): the
`send_event_on_commit` rule for free. Payloads carry ids, not bodies (NOTIFY
payloads are limited to 8,000 bytes); each node loads what it needs to push.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.db.session import libpq_url

CHANNEL = "sodam_events"
log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[None]]


async def publish(session: AsyncSession, event: dict[str, Any]) -> None:
    """Queue an event for delivery to every node when the session's transaction commits."""
    await session.execute(
        text("SELECT pg_notify(:channel, :payload)"),
        {"channel": CHANNEL, "payload": json.dumps(event, separators=(",", ":"))},
    )


def notify_statement(payloads: list[str]) -> tuple[str, dict[str, Any]]:
    """The statement that sends payloads already serialised by the database (in order), for a
    writer that notifies after its COMMIT (migration 0045) on a psycopg connection."""
    return (
        "SELECT pg_notify(%(channel)s, p) FROM unnest(%(payloads)s::text[]) WITH ORDINALITY AS t(p, n) ORDER BY n",
        {"channel": CHANNEL, "payloads": payloads},
    )


async def publish_now(event: dict[str, Any]) -> None:
    """Send an ephemeral event at once, outside any transaction (typing indicators): nothing
    is written, and a lost one is simply not shown."""
    from sodam.db.session import raw_pool

    pool = await raw_pool()
    async with pool.connection() as conn:
        await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, json.dumps(event, separators=(",", ":"))))


class PostgresListener:
    """One LISTEN connection per process; reconnects on its own and says so to the handler."""

    def __init__(self, database_url: str, handler: Handler, on_reconnect: Callable[[], Awaitable[None]]):
        self._url = libpq_url(database_url)
        self._handler = handler
        self._on_reconnect = on_reconnect
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sodam-listener")
        await asyncio.wait_for(self.ready.wait(), timeout=15)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: S110 - shutting down
                pass

    async def _run(self) -> None:
        first = True
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.ready.set()
                    if not first:
                        # Events may have been missed while disconnected: let clients resync.
                        await self._on_reconnect()
                    first = False
                    async for notify in conn.notifies():
                        try:
                            await self._handler(json.loads(notify.payload))
                        except Exception:
                            log.exception("event handler failed")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("listener connection lost; reconnecting", exc_info=True)
                await asyncio.sleep(0.5)
