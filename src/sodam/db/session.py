"""Async engine and sessions (SQLAlchemy 2 + psycopg 3)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import psycopg
import psycopg_pool
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

_engine: AsyncEngine | None = None
_sessionmaker: async_sessionmaker[AsyncSession] | None = None
_raw_url: str | None = None
_raw_pool_size = 10
_raw_pool: psycopg_pool.AsyncConnectionPool | None = None
_raw_lock = asyncio.Lock()
# The hot path's statements, run once on each new raw connection in a transaction rolled back
# (warm_raw_connections): a fresh backend compiles their PL/pgSQL functions and plans each
# statement, triggers included, at its first call, which cost the first messages after a
# start (and after each hourly replacement of a connection) 15-90 ms more than the next ones.
RawWarmUp = Callable[[psycopg.AsyncConnection], Awaitable[None]]
_raw_warm_ups: list[RawWarmUp] = []

log = logging.getLogger(__name__)


def sqlalchemy_url(url: str) -> str:
    """Normalise any postgres URL to the psycopg 3 dialect."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url!r}")


def libpq_url(url: str) -> str:
    """The same URL as plain libpq understands it (for psycopg connections)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def init_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    global _engine, _sessionmaker, _raw_url, _raw_pool_size
    # No pre-ping: it is a round trip per checkout; a dead connection fails the
    # request and is replaced, which is what a restart of PostgreSQL costs anyway.
    _engine = create_async_engine(sqlalchemy_url(url), pool_size=pool_size, max_overflow=pool_size)
    _raw_url, _raw_pool_size = libpq_url(url), pool_size
    _sessionmaker = async_sessionmaker(_engine, expire_on_commit=False)
    return _engine


def get_engine() -> AsyncEngine:
    if _engine is None:
        raise RuntimeError("database engine is not initialised")
    return _engine


def current_url() -> str:
    """The libpq URL of the database this process uses."""
    if _raw_url is None:
        raise RuntimeError("database engine is not initialised")
    return _raw_url


async def raw_pool() -> psycopg_pool.AsyncConnectionPool:
    """Autocommit psycopg connections for the hot path (one statement = one transaction, no ORM)."""
    global _raw_pool
    if _raw_pool is None:
        if _raw_url is None:
            raise RuntimeError("database engine is not initialised")
        async with _raw_lock:
            if _raw_pool is None:
                pool = psycopg_pool.AsyncConnectionPool(
                    _raw_url,
                    min_size=1,
                    max_size=_raw_pool_size,
                    kwargs={"autocommit": True},
                    configure=_warm_up,
                    open=False,
                    # No check on checkout (a round trip each time): a dead connection
                    # fails its statement and the pool replaces it.
                )
                await pool.open(wait=True)
                _raw_pool = pool
    return _raw_pool


def warm_raw_connections(warm_up: RawWarmUp) -> None:
    """Run `warm_up` on every new raw connection before it serves, in a transaction that is
    rolled back: it leaves nothing behind (a failure is logged and ignored)."""
    if warm_up not in _raw_warm_ups:
        _raw_warm_ups.append(warm_up)


async def _warm_up(conn: psycopg.AsyncConnection) -> None:
    async with conn.transaction(force_rollback=True):
        for warm_up in list(_raw_warm_ups):
            try:
                async with conn.transaction():  # a savepoint: a failure undoes only its own work
                    await warm_up(conn)
            except Exception as exc:  # only an optimisation: never keep a connection from the pool
                log.warning("warm-up %s failed on a new connection: %s", warm_up.__qualname__, exc)


async def fill_raw_pool() -> None:
    """Open (and warm) every raw connection now, not when a burst of messages needs them."""
    pool = await raw_pool()
    await pool.resize(min_size=pool.max_size)


async def dispose_engine() -> None:
    global _engine, _sessionmaker, _raw_pool, _raw_url
    if _engine is not None:
        await _engine.dispose()
    if _raw_pool is not None:
        await _raw_pool.close()
    _engine = None
    _sessionmaker = None
    _raw_pool = None
    _raw_url = None


@asynccontextmanager
async def session_scope() -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on error."""
    if _sessionmaker is None:
        raise RuntimeError("database engine is not initialised")
    async with _sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


def new_session() -> AsyncSession:
    if _sessionmaker is None:
        raise RuntimeError("database engine is not initialised")
    return _sessionmaker()
