"""The connections reports read from: SODAM_REPORTS_DATABASE_URL (a read replica) when set,
else the main database. A small pool of its own, so a slow report never takes a connection
the message path needs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
import psycopg_pool

from sodam.config import get_settings
from sodam.db.session import current_url, libpq_url

_pool: psycopg_pool.AsyncConnectionPool | None = None
_pool_url: str | None = None
_lock = asyncio.Lock()
POOL_SIZE = 4


def reports_url() -> str:
    configured = get_settings().reports_database_url
    return libpq_url(configured) if configured else current_url()


@asynccontextmanager
async def connection() -> AsyncIterator[psycopg.AsyncConnection]:
    """A read connection (autocommit; each report statement sees the latest committed rollup)."""
    global _pool, _pool_url
    url = reports_url()
    if _pool is None or _pool_url != url:
        async with _lock:
            if _pool is None or _pool_url != url:
                if _pool is not None:
                    await _pool.close()
                pool = psycopg_pool.AsyncConnectionPool(
                    url, min_size=0, max_size=POOL_SIZE, kwargs={"autocommit": True}, open=False
                )
                await pool.open()
                _pool, _pool_url = pool, url
    async with _pool.connection() as conn:
        yield conn


async def close() -> None:
    global _pool, _pool_url
    if _pool is not None:
        await _pool.close()
    _pool, _pool_url = None, None
