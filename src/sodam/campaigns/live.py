"""Live banner updates: after commit, every process tells its open widgets of the workspace
("banner" frame) to fetch their banner again. The event carries ids only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.channels.models import ChannelType, Inbox
from sodam.realtime import bus
from sodam.realtime.hub import hub

EVENT = "banner.changed"


async def publish_banner_changed(
    session: AsyncSession, *, workspace_id: int, inbox_ids: list[int] | None = None
) -> None:
    """Queue the event (delivered at commit): the workspace's widget inboxes, or those given."""
    if inbox_ids is None:
        inbox_ids = list(
            await session.scalars(
                select(Inbox.id).where(
                    Inbox.workspace_id == workspace_id, Inbox.channel_type == ChannelType.web_widget
                )
            )
        )
    if inbox_ids:
        await bus.publish(session, {"t": EVENT, "ws": workspace_id, "inboxes": inbox_ids[:500]})


async def on_bus_event(event: dict[str, Any]) -> None:
    """Registered with the hub (app start): offer a "banner" frame to the inboxes' visitors."""
    if event.get("t") != EVENT:
        return
    prefixes = tuple(f"visitor:{int(i)}:" for i in event.get("inboxes") or [])
    if not prefixes:
        return
    for topic in hub.active_topics():
        if topic.startswith(prefixes):
            hub.offer_topic(topic, {"type": "banner"})
