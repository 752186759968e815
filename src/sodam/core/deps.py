"""FastAPI dependencies shared by every router: the session and the current principal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.db.session import new_session


async def get_session() -> AsyncIterator[AsyncSession]:
    """A session whose transaction commits when the request handler returns without error."""
    session = new_session()
    try:
        yield session
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    finally:
        await session.close()


# Function scope: the transaction commits when the handler returns, *before* the
# response is sent, so a 2xx always means "committed" (the default request scope
# would run the commit after the client already has its answer).
DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]


@dataclass(frozen=True)
class Principal:
    """Who is calling: an agent (console session or API token) within one workspace."""

    workspace_id: int
    agent_id: int
    role: str
    locale: str = "ko"
    token_id: int | None = None
    scopes: tuple[str, ...] = ("read", "write")


def client_ip(request: Request) -> str:
    """The caller's address (X-Forwarded-For only from SODAM_TRUSTED_PROXIES)."""
    from sodam.core.ratelimit import client_ip as resolved

    return resolved(request)
