"""Resolving who is calling: API bearer tokens (console sessions live in accounts/views.py)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts import service
from sodam.core.deps import Principal
from sodam.core.errors import Unauthorized


def bearer_from_header(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def principal_from_token(session: AsyncSession, raw: str | None) -> Principal:
    """The principal an API token stands for; 401 when missing, unknown or revoked."""
    if not raw:
        raise Unauthorized("an API token is required (Authorization: Bearer <token>)", code="missing_token")
    found = await service.authenticate_token(session, raw=raw)
    if found is None:
        raise Unauthorized("unknown or revoked API token", code="invalid_token")
    token, agent = found
    return Principal(
        workspace_id=agent.workspace_id,
        agent_id=agent.id,
        role=agent.role.value,
        locale=agent.locale,
        token_id=token.id,
        scopes=tuple(token.scopes or ()),
    )
