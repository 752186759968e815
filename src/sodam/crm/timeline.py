"""One timeline per contact across every channel, newest first, keyset-paginated.

Each kind of entry is a *source*: an SQL branch selecting (kind, id, at, data) for one
contact. The sources of the foundation are conversations (with their message summary),
status changes and survey answers; a later domain (calls, campaigns, automations) adds its
own with `register_source`, and the API and the console show it without change (an unknown
kind is shown with its generic line). The cursor is (at, kind, id) of the last entry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.core.errors import NotFound

# Each branch sees :ws and :contact, and must select kind, id, at, data (jsonb).
SOURCES: dict[str, str] = {
    "conversation": """
        SELECT 'conversation'::text AS kind, c.id, c.created_at AS at,
               jsonb_build_object('conversation_id', c.id, 'inbox_id', c.inbox_id, 'inbox_name', i.name,
                                  'channel_type', i.channel_type::text, 'status', c.status::text,
                                  'priority', c.priority::text, 'messages', c.last_seq,
                                  'last_message_preview', c.last_message_preview,
                                  'last_message_at', c.last_message_at) AS data
          FROM conversations c JOIN inboxes i ON i.id = c.inbox_id
         WHERE c.workspace_id = :ws AND c.contact_id = :contact""",
    "status": """
        SELECT 'status'::text AS kind, e.id, e.created_at AS at,
               jsonb_build_object('conversation_id', e.conversation_id, 'from', e.data->>'from',
                                  'to', e.data->>'to', 'actor_type', e.actor_type) AS data
          FROM conversation_events e JOIN conversations c ON c.id = e.conversation_id
         WHERE c.workspace_id = :ws AND c.contact_id = :contact AND e.type = 'status.changed'""",
    "survey_answer": """
        SELECT 'survey_answer'::text AS kind, a.id, a.created_at AS at,
               jsonb_build_object('survey_id', a.survey_id, 'survey_name', s.name, 'survey_kind', a.kind,
                                  'score', a.score, 'comment', a.comment,
                                  'conversation_id', a.conversation_id) AS data
          FROM survey_answers a JOIN surveys s ON s.id = a.survey_id
         WHERE a.workspace_id = :ws AND a.contact_id = :contact""",
}


def register_source(kind: str, sql: str) -> None:
    """Add an entry kind (idempotent by kind): a later domain's calls, campaigns, automations."""
    SOURCES[kind] = sql


def _statement(kinds: list[str], with_cursor: bool) -> str:
    keyset = " WHERE (b.at, b.kind, b.id) < (:at, :kind, :id)" if with_cursor else ""
    # Each branch is cut to the page size before the union, so a contact with a long history
    # sorts only a page per kind.
    branches = [
        f"(SELECT * FROM ({SOURCES[k]}) b{keyset} ORDER BY b.at DESC, b.kind DESC, b.id DESC LIMIT :limit)"
        for k in kinds
    ]
    return (
        "SELECT kind, id, at, data FROM (" + " UNION ALL ".join(branches) + ") t"
        " ORDER BY at DESC, kind DESC, id DESC LIMIT :limit"
    )


async def page(
    session: AsyncSession,
    *,
    workspace_id: int,
    contact_id: int,
    after: tuple[datetime, str, int] | None = None,
    limit: int = 25,
    kinds: list[str] | None = None,
) -> list[dict[str, Any]]:
    """One page of a contact's timeline, newest first (`after`: the last entry's at, kind, id)."""
    exists = await session.scalar(
        text("SELECT 1 FROM contacts WHERE workspace_id = :ws AND id = :contact"),
        {"ws": workspace_id, "contact": contact_id},
    )
    if exists is None:
        raise NotFound("contact not found")
    chosen = [k for k in (kinds or list(SOURCES)) if k in SOURCES]
    if not chosen:
        return []
    params: dict[str, Any] = {"ws": workspace_id, "contact": contact_id, "limit": limit}
    if after is not None:
        params.update(at=after[0], kind=after[1], id=after[2])
    rows = (await session.execute(text(_statement(chosen, after is not None)), params)).mappings().all()
    return [{"kind": r["kind"], "id": r["id"], "at": r["at"], "data": r["data"]} for r in rows]
