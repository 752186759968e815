"""Segments: saved filters over contacts, their live counts and members.

Other domains (campaigns, routing, surveys) ask for a segment's contacts through
`contacts_query()` (a SELECT to compose into their own statement) or
`segment_contact_ids()`; neither reads anything into Python before the database filters.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.contacts.models import Contact
from sodam.core.errors import Conflict, NotFound
from sodam.segments import compile as compiler
from sodam.segments.filters import parse
from sodam.segments.models import Segment

MAX_SEGMENTS_PER_CONTACT = 20  # segments evaluated for one contact (screen pop)
# Counting hashes sets of contact ids (conversation counts, last scores, sentiments): room for
# a big workspace's sets in memory, so no plan falls back to re-scanning per contact.
WORK_MEM = "64MB"


async def _roomy(session: AsyncSession) -> None:
    await session.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))


async def get(session: AsyncSession, *, workspace_id: int, segment_id: int) -> Segment:
    """A segment of this workspace (404 otherwise)."""
    segment = await session.scalar(
        select(Segment).where(Segment.workspace_id == workspace_id, Segment.id == segment_id)
    )
    if segment is None:
        raise NotFound("segment not found")
    return segment


async def list_(
    session: AsyncSession, *, workspace_id: int, after_id: int | None = None, limit: int = 100
) -> list[Segment]:
    """Segments by name order is for people; the API pages by id."""
    stmt = select(Segment).where(Segment.workspace_id == workspace_id)
    if after_id is not None:
        stmt = stmt.where(Segment.id > after_id)
    return list(await session.scalars(stmt.order_by(Segment.id).limit(limit)))


async def _in_savepoint(session: AsyncSession, change) -> None:
    """Apply a change and flush it in a savepoint: a taken name is a 409 and leaves the
    caller's transaction (and the session's objects) as they were."""
    try:
        async with session.begin_nested():
            change()
            await session.flush()
    except IntegrityError:
        raise Conflict(
            "a segment with this name exists", code="segment_name_taken", details={"field": "name"}
        ) from None


async def create(
    session: AsyncSession,
    *,
    workspace_id: int,
    name: str,
    filter: dict[str, Any],
    description: str | None = None,
    created_by: int | None = None,
) -> Segment:
    """A new segment (the filter validated: 422 invalid_filter with the bad condition's path)."""
    parse(filter)
    segment = Segment(
        workspace_id=workspace_id,
        name=name.strip(),
        description=(description or "").strip() or None,
        filter=filter,
        created_by=created_by,
    )
    await _in_savepoint(session, lambda: session.add(segment))
    return segment


async def update(session: AsyncSession, *, workspace_id: int, segment_id: int, **changes: Any) -> Segment:
    """Change a segment's name, description or filter."""
    segment = await get(session, workspace_id=workspace_id, segment_id=segment_id)
    if changes.get("filter") is not None:
        parse(changes["filter"])

    def change() -> None:
        if changes.get("filter") is not None:
            segment.filter = changes["filter"]
        if changes.get("name") is not None:
            segment.name = changes["name"].strip()
        if "description" in changes:
            segment.description = (changes["description"] or "").strip() or None

    await _in_savepoint(session, change)
    await session.refresh(segment)
    return segment


async def delete(session: AsyncSession, *, workspace_id: int, segment_id: int) -> None:
    segment = await get(session, workspace_id=workspace_id, segment_id=segment_id)
    await session.delete(segment)
    await session.flush()


def contacts_query(*, workspace_id: int, filter: dict[str, Any], now: datetime | None = None):
    """SELECT Contact rows matching a filter (validated here); compose order/limit on it."""
    return compiler.contacts_query(parse(filter), workspace_id=workspace_id, now=now)


def ids_query(*, workspace_id: int, filter: dict[str, Any], now: datetime | None = None):
    """SELECT contacts.id matching a filter: for `IN (…)` in another domain's statement."""
    return compiler.ids_query(parse(filter), workspace_id=workspace_id, now=now)


async def count(
    session: AsyncSession, *, workspace_id: int, filter: dict[str, Any], now: datetime | None = None
) -> int:
    """How many contacts match, now (one statement)."""
    await _roomy(session)
    ids = ids_query(workspace_id=workspace_id, filter=filter, now=now).subquery()
    return int(await session.scalar(select(func.count()).select_from(ids)))


async def contacts(
    session: AsyncSession,
    *,
    workspace_id: int,
    filter: dict[str, Any],
    after_id: int | None = None,
    limit: int = 25,
    now: datetime | None = None,
) -> list[Contact]:
    """Matching contacts, newest first (keyset on id)."""
    await _roomy(session)
    stmt = contacts_query(workspace_id=workspace_id, filter=filter, now=now)
    if after_id is not None:
        stmt = stmt.where(Contact.id < after_id)
    return list(await session.scalars(stmt.order_by(Contact.id.desc()).limit(limit)))


async def segment_contact_ids(
    session: AsyncSession, *, workspace_id: int, segment_id: int, limit: int | None = None
) -> list[int]:
    """The ids of a segment's contacts now, in id order (404 for another workspace's segment)."""
    segment = await get(session, workspace_id=workspace_id, segment_id=segment_id)
    await _roomy(session)
    stmt = ids_query(workspace_id=workspace_id, filter=segment.filter).order_by(Contact.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(await session.scalars(stmt))


async def counts(session: AsyncSession, *, segments: list[Segment]) -> dict[int, int]:
    """Live counts of several segments (one statement each)."""
    return {s.id: await count(session, workspace_id=s.workspace_id, filter=s.filter) for s in segments}


async def of_contact(session: AsyncSession, *, workspace_id: int, contact_id: int) -> list[Segment]:
    """The segments (at most 20, by name) this contact is in: one statement, an EXISTS per
    segment restricted to this contact (each an index probe, not a count)."""
    segments = list(
        await session.scalars(
            select(Segment)
            .where(Segment.workspace_id == workspace_id)
            .order_by(Segment.name, Segment.id)
            .limit(MAX_SEGMENTS_PER_CONTACT)
        )
    )
    if not segments:
        return []
    probes = [
        exists(ids_query(workspace_id=workspace_id, filter=s.filter).where(Contact.id == contact_id)).label(
            f"s{i}"
        )
        for i, s in enumerate(segments)
    ]
    row = (await session.execute(select(*probes))).one()
    return [s for s, inside in zip(segments, row, strict=True) if inside]
