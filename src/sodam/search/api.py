"""REST API v1: search the workspace's conversations (messages and private notes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from sodam.accounts.auth import ApiSession, ReadPrincipal
from sodam.conversations.models import Status
from sodam.conversations.schemas import ConversationOut, MessageOut, message_out
from sodam.core.errors import Invalid
from sodam.core.pagination import MAX_ID, InvalidCursor, Page, PageQuery, decode_cursor, encode_cursor
from sodam.search import service
from sodam.search.service import MAX_QUERY_CHARS, Filters

router = APIRouter(prefix="/api/v1/search", tags=["search"])
CURSOR_KIND = "search_conversations"


class SearchHitOut(BaseModel):
    conversation: ConversationOut
    message: MessageOut
    snippet_html: str = Field(
        description="Escaped HTML of the message (a window around the first match) with each "
        "match in <mark>…</mark>; safe to insert as HTML."
    )
    matches: int


class SearchPage(Page[SearchHitOut]):
    terms: list[str] = Field(
        description="What the query was analysed into (Korean morphemes, English stems)."
    )


def aware(value: datetime | None, name: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise Invalid(f"{name} needs a time zone (e.g. 2026-12-01T00:00:00+09:00)", code="invalid_time")
    return value


@router.get(
    "/conversations",
    summary="Search messages and private notes",
    response_model=SearchPage,
    description="Every word of `q` must be in a message. Korean is matched by morphemes, so "
    "`환불했어요` finds `환불하고 싶어요`; English by stems (`refunded` finds `refunds`). "
    "Newest first, one row per matching message with its conversation. Messages are "
    "indexed within seconds of being written.",
)
async def search_conversations(
    principal: ReadPrincipal,
    session: ApiSession,
    page: PageQuery,
    q: str = Query(max_length=MAX_QUERY_CHARS, description="Search text."),
    status: Status | None = Query(default=None),
    inbox_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    team_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    assignee_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    unassigned: bool = Query(default=False, description="Only conversations assigned to nobody."),
    tag: str | None = Query(default=None, max_length=60),
    contact_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    since: datetime | None = Query(default=None, description="Messages at or after this time."),
    until: datetime | None = Query(default=None, description="Messages before this time."),
) -> dict[str, Any]:
    after = None
    if page.cursor:
        position = decode_cursor(page.cursor, CURSOR_KIND, {"at": str, "id": int})
        try:
            after = (datetime.fromisoformat(position["at"]), position["id"])
        except ValueError as exc:
            raise InvalidCursor("the cursor is not valid for this list") from exc
    filters = Filters(
        status=status,
        inbox_id=inbox_id,
        team_id=team_id,
        assignee_id=assignee_id,
        unassigned=unassigned,
        tag=tag,
        contact_id=contact_id,
        since=aware(since, "since"),
        until=aware(until, "until"),
    )
    hits, terms = await service.search(
        session,
        workspace_id=principal.workspace_id,
        query=q,
        filters=filters,
        after=after,
        limit=page.limit + 1,
    )
    cursor = None
    if len(hits) > page.limit:
        hits = hits[: page.limit]
        last = hits[-1].message
        cursor = encode_cursor(CURSOR_KIND, {"at": last.created_at.isoformat(), "id": last.id})
    return {
        "data": [
            {
                "conversation": ConversationOut.model_validate(h.conversation).model_dump(mode="json"),
                "message": message_out(h.message),
                "snippet_html": h.snippet,
                "matches": h.matches,
            }
            for h in hits
        ],
        "next_cursor": cursor,
        "terms": terms,
    }
