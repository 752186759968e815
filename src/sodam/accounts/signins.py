"""Console sessions kept in PostgreSQL: one row per signed-in browser, so an agent can see
where they are signed in and end any one of them. The cookie carries a random token; only
its hash is stored."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts.models import Agent, AgentSession, Workspace
from sodam.config import get_settings
from sodam.core.errors import NotFound
from sodam.core.security import hash_token

# last_seen_at is written at most this often per session (not on every request).
TOUCH_EVERY = timedelta(seconds=60)


async def start(
    session: AsyncSession, *, agent: Agent, ip: str | None, user_agent: str | None, second_factor: bool
) -> str:
    """A new session for this agent; returns the raw token for the cookie."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session.add(
        AgentSession(
            workspace_id=agent.workspace_id,
            agent_id=agent.id,
            token_hash=hash_token(token),
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(seconds=get_settings().session_max_age_s),
            ip=(ip or "")[:64] or None,
            user_agent=(user_agent or "")[:300] or None,
            second_factor=second_factor,
        )
    )
    await session.flush()
    return token


async def resolve(
    session: AsyncSession, *, agent_id: int, version: int, token: str
) -> tuple[Agent, AgentSession, dict] | None:
    """(agent, session row, workspace security settings) for a live session, else None."""
    row = (
        await session.execute(
            select(Agent, AgentSession, Workspace.security)
            .join(AgentSession, AgentSession.agent_id == Agent.id)
            .join(Workspace, Workspace.id == Agent.workspace_id)
            .where(
                AgentSession.token_hash == hash_token(token),
                Agent.id == agent_id,
                AgentSession.revoked_at.is_(None),
                AgentSession.expires_at > datetime.now(UTC),
            )
        )
    ).first()
    if row is None:
        return None
    agent, live, security = row
    if not agent.is_active or agent.session_version != version:
        return None
    now = datetime.now(UTC)
    if now - live.last_seen_at > TOUCH_EVERY:
        live.last_seen_at = now
    return agent, live, security or {}


async def list_active(session: AsyncSession, *, workspace_id: int, agent_id: int) -> list[AgentSession]:
    """The agent's live sessions, most recently used first."""
    result = await session.scalars(
        select(AgentSession)
        .where(
            AgentSession.workspace_id == workspace_id,
            AgentSession.agent_id == agent_id,
            AgentSession.revoked_at.is_(None),
            AgentSession.expires_at > datetime.now(UTC),
        )
        .order_by(AgentSession.last_seen_at.desc(), AgentSession.id.desc())
    )
    return list(result)


async def revoke(session: AsyncSession, *, workspace_id: int, agent_id: int, session_id: int) -> None:
    """End one of the agent's sessions (404 when it is not theirs or already over)."""
    result = await session.execute(
        update(AgentSession)
        .where(
            AgentSession.id == session_id,
            AgentSession.workspace_id == workspace_id,
            AgentSession.agent_id == agent_id,
            AgentSession.revoked_at.is_(None),
        )
        .values(revoked_at=datetime.now(UTC))
    )
    if result.rowcount == 0:
        raise NotFound("session not found")


async def revoke_all(
    session: AsyncSession, *, workspace_id: int, agent_id: int, keep_id: int | None = None
) -> int:
    """End every session of the agent (but keep_id); returns how many ended."""
    query = update(AgentSession).where(
        AgentSession.workspace_id == workspace_id,
        AgentSession.agent_id == agent_id,
        AgentSession.revoked_at.is_(None),
    )
    if keep_id is not None:
        query = query.where(AgentSession.id != keep_id)
    result = await session.execute(query.values(revoked_at=datetime.now(UTC)))
    return result.rowcount


async def revoke_token(session: AsyncSession, *, token: str) -> None:
    """End the session this cookie token names (sign-out)."""
    await session.execute(
        update(AgentSession)
        .where(AgentSession.token_hash == hash_token(token), AgentSession.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
