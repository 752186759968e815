"""Inboxes. Services never commit: callers own the transaction."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.channels.models import ChannelType, Inbox
from sodam.core.errors import Invalid, NotFound

DEFAULT_WIDGET_SETTINGS: dict[str, Any] = {
    "color": "#3b5bdb",
    "position": "right",
    "prechat_form": False,
    "company_name": "",
    "greeting_ko": "",
    "greeting_en": "",
}


def normalise_origin(origin: str) -> str:
    """'https://Shop.example.com/path' -> 'https://shop.example.com' (scheme://host[:port])."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Invalid(f"not an origin: {origin!r}", code="invalid_origin")
    return f"{parts.scheme}://{parts.netloc.lower()}"


async def create(
    session: AsyncSession,
    *,
    workspace_id: int,
    name: str,
    channel_type: ChannelType = ChannelType.web_widget,
    allowed_origins: list[str] | None = None,
    settings: dict[str, Any] | None = None,
) -> Inbox:
    """Create an inbox with a fresh public token."""
    if not name.strip():
        raise Invalid("an inbox needs a name", code="invalid_name")
    inbox = Inbox(
        workspace_id=workspace_id,
        name=name.strip(),
        channel_type=channel_type,
        public_token=secrets.token_urlsafe(18),
        allowed_origins=[normalise_origin(o) for o in (allowed_origins or [])],
        settings={**DEFAULT_WIDGET_SETTINGS, **(settings or {})},
    )
    session.add(inbox)
    await session.flush()
    return inbox


async def get(session: AsyncSession, *, workspace_id: int, inbox_id: int) -> Inbox:
    """Get an inbox of this workspace."""
    inbox = await session.scalar(
        select(Inbox).where(Inbox.workspace_id == workspace_id, Inbox.id == inbox_id)
    )
    if inbox is None:
        raise NotFound("inbox not found")
    return inbox


async def get_by_public_token(session: AsyncSession, *, public_token: str) -> Inbox:
    """The inbox a widget snippet points at."""
    inbox = await session.scalar(select(Inbox).where(Inbox.public_token == public_token))
    if inbox is None:
        raise NotFound("unknown inbox", code="unknown_inbox")
    return inbox


async def list_(session: AsyncSession, *, workspace_id: int) -> list[Inbox]:
    """Inboxes of a workspace."""
    result = await session.scalars(select(Inbox).where(Inbox.workspace_id == workspace_id).order_by(Inbox.id))
    return list(result)


async def update(
    session: AsyncSession,
    *,
    workspace_id: int,
    inbox_id: int,
    name: str | None = None,
    allowed_origins: list[str] | None = None,
    settings: dict[str, Any] | None = None,
) -> Inbox:
    """Update an inbox's name, allowed origins or widget settings."""
    inbox = await get(session, workspace_id=workspace_id, inbox_id=inbox_id)
    if name is not None:
        inbox.name = name.strip() or inbox.name
    if allowed_origins is not None:
        inbox.allowed_origins = [normalise_origin(o) for o in allowed_origins if o.strip()]
    if settings is not None:
        inbox.settings = {**inbox.settings, **settings}
    await session.flush()
    return inbox


def origin_allowed(inbox: Inbox, origin: str | None, *, own_origin: str | None = None) -> bool:
    """Is a browser origin allowed to embed this inbox's widget?

    An inbox with no allowed origins accepts any (handy while setting up; the
    settings page says so). Sodam's own pages (`own_origin`: the help center carrying
    the widget) are always allowed when the inbox is set to appear there.
    """
    if not inbox.allowed_origins:
        return True
    if not origin:
        return False
    if own_origin and origin == own_origin and (inbox.settings or {}).get("helpcenter_widget"):
        return True
    try:
        return normalise_origin(origin) in inbox.allowed_origins
    except Invalid:
        return False


async def list_page(
    session: AsyncSession, *, workspace_id: int, after_id: int | None = None, limit: int = 25
) -> list[Inbox]:
    """Inboxes of a workspace by id, after a keyset position (for API pagination)."""
    stmt = select(Inbox).where(Inbox.workspace_id == workspace_id)
    if after_id is not None:
        stmt = stmt.where(Inbox.id > after_id)
    return list(await session.scalars(stmt.order_by(Inbox.id).limit(limit)))


def own_origin(scheme: str, headers) -> str | None:
    """The origin this request was addressed to (Sodam's own pages), from its Host header."""
    host = headers.get("host") if hasattr(headers, "get") else None
    if isinstance(host, bytes):
        host = host.decode("latin-1")
    return f"{scheme}://{host}" if host else None


async def helpcenter_inbox_token(session: AsyncSession, *, workspace_id: int) -> str | None:
    """The public token of the inbox whose widget the help center carries, if one is set."""
    for inbox in await list_(session, workspace_id=workspace_id):
        if (inbox.settings or {}).get("helpcenter_widget"):
            return inbox.public_token
    return None
