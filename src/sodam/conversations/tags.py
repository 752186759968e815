"""A conversation's tags: an agent's replacement of the whole list, and additions by the
reactions (the bot's handoff, automations, surveys, calls) in one statement that never
overwrites a concurrent change."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import TextClause, text
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


# The bot's handoff's writes to its conversation, after its messages, in one statement: the
# conversation joins the human queue (bot_handling off, queued_at: routing's and the SLA's
# triggers fire as for the ORM's UPDATE) with its language, the handoff's event is logged and
# the tags are added as _ADD_TAGS_SQL adds them (checked against the ones read, logged after the
# handoff's event, announced). The caller holds the row: the UPDATE, the events and the
# tags were three round trips under it (four with the language and the queue as their own UPDATE).
_HAND_OFF_SQL = text(
    "WITH cur AS (SELECT c.id, (CAST(:tagging AS boolean) AND coalesce(c.tags, '{}')"
    " = CAST(:cur AS varchar(60)[])) AS tagged FROM conversations c WHERE c.id = :id AND c.workspace_id = :ws),"
    " up AS (UPDATE conversations c SET bot_handling = false, queued_at = CAST(:queued_at AS timestamptz),"
    " language = CAST(:language AS varchar(8)),"
    " tags = CASE WHEN cur.tagged THEN CAST(:new AS varchar(60)[]) ELSE c.tags END,"
    " updated_at = CASE WHEN cur.tagged THEN clock_timestamp() ELSE c.updated_at END"
    " FROM cur WHERE c.id = cur.id"
    " RETURNING c.id, c.workspace_id, c.contact_id, c.inbox_id, c.updated_at, cur.tagged),"
    " ev AS (INSERT INTO conversation_events (workspace_id, conversation_id, type, actor_type, actor_id, data,"
    " created_at) SELECT up.workspace_id, up.id, e.type, :actor_type, NULL, e.data, clock_timestamp()"
    " FROM up CROSS JOIN (VALUES (1, CAST(:event_type AS varchar), CAST(:event_data AS jsonb)),"
    " (2, 'tags.changed', CAST(:tags_data AS jsonb))) AS e(ord, type, data)"
    " WHERE e.ord = 1 OR up.tagged ORDER BY e.ord),"
    " n AS (SELECT pg_notify(:channel, json_build_object('t', 'conversation.updated', 'ws', up.workspace_id,"
    " 'conv', up.id, 'contact', up.contact_id, 'inbox', up.inbox_id)::text) FROM up WHERE up.tagged)"
    " SELECT up.updated_at, up.tagged FROM up CROSS JOIN (SELECT count(*) FROM n) AS sent"
)


def queue_statement(
    *,
    conversation: Conversation,
    queued_at: datetime,
    language: str | None,
    event_type: str,
    event_data: dict,
    tags: list[str],
    actor_type: str = "bot",
) -> tuple[TextClause, dict]:
    """queue_for_people's statement and its parameters, for a caller that sends it with others
    (db.pipeline); its row goes to apply_queued."""
    current = list(conversation.tags or [])
    new_tags = normalise_tags(current + tags)
    return _HAND_OFF_SQL, {
        "tagging": new_tags != current,
        "cur": current,
        "new": new_tags,
        "id": conversation.id,
        "ws": conversation.workspace_id,
        "queued_at": queued_at,
        "language": language,
        "actor_type": actor_type,
        "event_type": event_type,
        "event_data": json.dumps(event_data),
        "tags_data": json.dumps({"from": current, "to": new_tags}),
        "channel": bus.CHANNEL,
    }


async def apply_queued(
    session: AsyncSession, conversation: Conversation, params: dict, updated_at: datetime, tagged: bool
) -> None:
    """Bring `conversation` up to date with what queue_statement wrote (`params`: its
    parameters; `updated_at`, `tagged`: its row). When the tags it was to add are not there —
    they changed since they were read (not under the row lock) — add_tags reads them again and
    merges."""
    set_committed_value(conversation, "bot_handling", False)
    set_committed_value(conversation, "queued_at", params["queued_at"])
    set_committed_value(conversation, "language", params["language"])
    if tagged:
        set_committed_value(conversation, "tags", params["new"])
        set_committed_value(conversation, "updated_at", updated_at)
    elif params["tagging"]:
        await add_tags(
            session,
            workspace_id=conversation.workspace_id,
            conversation_id=conversation.id,
            tags=[tag for tag in params["new"] if tag not in params["cur"]],
            actor_type=params["actor_type"],
            conversation=conversation,
        )


async def queue_for_people(session: AsyncSession, **handoff: Any) -> Conversation:
    """A conversation the bot hands to people, in one statement (queue_statement's arguments):
    it leaves the bot and joins the human queue at `queued_at` with `language`, `event_type` is
    logged with `event_data`, and `tags` are added (as add_tags adds them, after that event).
    `conversation`: read under its row lock, which the caller holds (pending changes to these
    columns are the caller's to leave out of its flushes)."""
    conversation = handoff["conversation"]
    statement, params = queue_statement(**handoff)
    row = (await session.execute(statement, params)).one()
    await apply_queued(session, conversation, params, row.updated_at, row.tagged)
    return conversation
