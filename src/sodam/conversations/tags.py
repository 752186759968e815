"""A conversation's tags: an agent's replacement of the whole list, and additions by the
reactions (the bot's handoff, automations, surveys, calls) in one statement that never
overwrites a concurrent change."""

from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from sodam.conversations.models import Conversation
from sodam.conversations.service import MAX_TAGS, _touch_and_publish, get, log_event
from sodam.core.errors import Conflict, Invalid
from sodam.realtime import bus


def normalise_tags(tags: list[str]) -> list[str]:
    cleaned: list[str] = []
    for tag in tags:
        tag = tag.strip().lower()[:60]
        if tag and tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise Invalid(f"at most {MAX_TAGS} tags", code="too_many_tags")
    return cleaned


async def set_tags(
    session: AsyncSession, *, workspace_id: int, conversation_id: int, tags: list[str], actor_id: int | None
) -> Conversation:
    """Replace a conversation's tags."""
    conversation = await get(session, workspace_id=workspace_id, conversation_id=conversation_id)
    new_tags = normalise_tags(tags)
    if list(conversation.tags or []) != new_tags:
        await log_event(
            session,
            workspace_id=workspace_id,
            conversation_id=conversation_id,
            type="tags.changed",
            actor_type="agent",
            actor_id=actor_id,
            data={"from": list(conversation.tags or []), "to": new_tags},
        )
        conversation.tags = new_tags
        await _touch_and_publish(session, conversation)
    return conversation


# Tags added in one statement: written only if the tags are still the ones read (another
# writer's change is read again and merged, never overwritten), logged and announced (pg_notify,
# sent at commit). A caller that does not hold the conversation's row takes it for this one
# statement; one that does (the bot's handoff) holds it for one round trip less than three.
_ADD_TAGS_SQL = text(
    "WITH up AS (UPDATE conversations SET tags = CAST(:new AS varchar(60)[]), updated_at = clock_timestamp()"
    " WHERE id = :id AND workspace_id = :ws AND coalesce(tags, '{}') = CAST(:cur AS varchar(60)[])"
    " RETURNING id, workspace_id, contact_id, inbox_id, updated_at),"
    " ev AS (INSERT INTO conversation_events (workspace_id, conversation_id, type, actor_type, actor_id, data,"
    " created_at) SELECT up.workspace_id, up.id, 'tags.changed', :actor_type, :actor_id, CAST(:data AS jsonb),"
    " clock_timestamp() FROM up),"
    " n AS (SELECT pg_notify(:channel, json_build_object('t', 'conversation.updated', 'ws', up.workspace_id,"
    " 'conv', up.id, 'contact', up.contact_id, 'inbox', up.inbox_id)::text) FROM up)"
    " SELECT up.updated_at FROM up CROSS JOIN (SELECT count(*) FROM n) AS sent"
)


async def add_tags(
    session: AsyncSession,
    *,
    workspace_id: int,
    conversation_id: int,
    tags: list[str],
    actor_type: str = "agent",
    actor_id: int | None = None,
    conversation: Conversation | None = None,
) -> Conversation:
    """Add tags to a conversation, keeping the ones it has. `conversation`: the caller's, read
    under its row lock (no read here; the statement still checks the tags it holds)."""
    if (
        conversation is None
        or conversation.id != conversation_id
        or conversation.workspace_id != workspace_id
    ):
        conversation = await get(session, workspace_id=workspace_id, conversation_id=conversation_id)
    await session.flush()  # the caller's pending changes first: the statement below is not the ORM's
    for _ in range(5):
        current = list(conversation.tags or [])
        new_tags = normalise_tags(current + tags)
        if new_tags == current:
            return conversation
        updated_at = await session.scalar(
            _ADD_TAGS_SQL,
            {
                "new": new_tags,
                "cur": current,
                "id": conversation_id,
                "ws": workspace_id,
                "actor_type": actor_type,
                "actor_id": actor_id,
                "data": json.dumps({"from": current, "to": new_tags}),
                "channel": bus.CHANNEL,
            },
        )
        if updated_at is not None:
            set_committed_value(conversation, "tags", new_tags)
            set_committed_value(conversation, "updated_at", updated_at)
            return conversation
        await session.refresh(conversation, ["tags"])  # changed since it was read: merge again
    raise Conflict("the conversation's tags kept changing", code="tags_changed")
