"""Async engine and sessions (SQLAlchemy 2 + psycopg 3)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg_pool
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

_engine: AsyncEngine | None = None
_sessionmaker: async_sessionmaker[AsyncSession] | None = None
_raw_url: str | None = None
_raw_pool_size = 10
_raw_pool: psycopg_pool.AsyncConnectionPool | None = None
_raw_lock = asyncio.Lock()


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
                    open=False,
                    # No check on checkout (a round trip each time): a dead connection
                    # fails its statement and the pool replaces it.
                )
                await pool.open(wait=True)
                _raw_pool = pool
    return _raw_pool


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
