"""Incident announcements: one model, read by every surface — the widget banner (and a live
push when one starts or clears), the bot (said once per conversation before its answer), the
first auto-reply and the IVR (`voice.flow` plays `active()` before the menu). Never commits.

Active = not cleared, started (no start: at once) and not ended (no end: until cleared)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, bindparam, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.campaigns.models import SEVERITIES, Announcement
from sodam.core.errors import Invalid, NotFound

MAX_TEXT = 1000


def _now() -> datetime:
    return datetime.now(UTC)


def live_condition(now: datetime):
    return and_(
        Announcement.active.is_(True),
        or_(Announcement.starts_at.is_(None), Announcement.starts_at <= now),
        or_(Announcement.ends_at.is_(None), Announcement.ends_at > now),
    )


def is_active(a: Announcement, now: datetime | None = None) -> bool:
    now = now or _now()
    return bool(
        a.active and (a.starts_at is None or a.starts_at <= now) and (a.ends_at is None or a.ends_at > now)
    )


def any_live(workspace_id, now):
    """Whether the workspace has an active announcement at `now` (an EXISTS, for a statement that
    reads more: the bot's first read asks it, and reads them only when there is one)."""
    return exists().where(Announcement.workspace_id == workspace_id, live_condition(now))


# Built once (every bot decision reads it): building it per call cost more CPU than running it.
_ACTIVE = (
    select(Announcement)
    .where(Announcement.workspace_id == bindparam("workspace_id"), live_condition(bindparam("now")))
    .order_by(Announcement.id)
)


async def active(
    session: AsyncSession, workspace_id: int, *, now: datetime | None = None
) -> list[Announcement]:
    """The announcements active now, oldest first (the IVR plays them in this order)."""
    return list(await session.scalars(_ACTIVE, {"workspace_id": workspace_id, "now": now or _now()}))


def text_of(a: Announcement, language: str) -> str:
    """The text in the customer's language (Korean when there is no English)."""
    return a.text_en if language == "en" and a.text_en else a.text_ko


def language_of(a: Announcement, language: str) -> str:
    return "en" if language == "en" and a.text_en else "ko"


async def notice(session: AsyncSession, *, workspace_id: int, language: str) -> str:
    """Every active announcement as one paragraph ("" when there is none)."""
    return "\n".join(text_of(a, language) for a in await active(session, workspace_id))


async def list_(session: AsyncSession, *, workspace_id: int, limit: int = 200) -> list[Announcement]:
    return list(
        await session.scalars(
            select(Announcement)
            .where(Announcement.workspace_id == workspace_id)
            .order_by(Announcement.id.desc())
            .limit(limit)
        )
    )


async def get(session: AsyncSession, *, workspace_id: int, announcement_id: int) -> Announcement:
    found = await session.scalar(
        select(Announcement).where(
            Announcement.workspace_id == workspace_id, Announcement.id == announcement_id
        )
    )
    if found is None:
        raise NotFound("announcement not found")
    return found


def clean_text(value: str | None, field: str, *, required: bool, limit: int = MAX_TEXT) -> str:
    value = (value or "").strip()
    if required and not value:
        raise Invalid(f"{field} is required", code="invalid_announcement", details={"field": field})
    if len(value) > limit:
        raise Invalid(f"{field} is too long", code="invalid_announcement", details={"field": field})
    return value


def _check(row: Announcement) -> None:
    if row.severity not in SEVERITIES:
        raise Invalid(
            "severity is one of " + ", ".join(SEVERITIES),
            code="invalid_announcement",
            details={"field": "severity"},
        )
    if row.starts_at and row.ends_at and row.ends_at <= row.starts_at:
        raise Invalid(
            "ends_at must be after starts_at", code="invalid_announcement", details={"field": "ends_at"}
        )


async def create(
    session: AsyncSession,
    *,
    workspace_id: int,
    text_ko: str,
    text_en: str = "",
    severity: str = "major",
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    active: bool = True,
    created_by: int | None = None,
    limit: int = MAX_TEXT,
) -> Announcement:
    """A new announcement (active at once unless it starts later)."""
    row = Announcement(
        workspace_id=workspace_id,
        text_ko=clean_text(text_ko, "text_ko", required=True, limit=limit),
        text_en=clean_text(text_en, "text_en", required=False, limit=limit),
        severity=severity,
        starts_at=starts_at,
        ends_at=ends_at,
        active=active,
        created_by=created_by,
    )
    _check(row)
    session.add(row)
    await session.flush()
    await _changed(session, row)
    return row


async def update(
    session: AsyncSession,
    *,
    workspace_id: int,
    announcement_id: int,
    changes: dict[str, Any],
    limit: int = MAX_TEXT,
) -> Announcement:
    row = await get(session, workspace_id=workspace_id, announcement_id=announcement_id)
    if "text_ko" in changes:
        row.text_ko = clean_text(changes["text_ko"], "text_ko", required=True, limit=limit)
    if "text_en" in changes:
        row.text_en = clean_text(changes["text_en"], "text_en", required=False, limit=limit)
    for key in ("severity", "starts_at", "ends_at"):
        if key in changes and (changes[key] is not None or key != "severity"):
            setattr(row, key, changes[key])
    if "active" in changes:
        row.active = bool(changes["active"])
        row.cleared_at = None if row.active else (row.cleared_at or _now())
    _check(row)
    await session.flush()
    await _changed(session, row)
    return row


async def clear(session: AsyncSession, *, workspace_id: int, announcement_id: int) -> Announcement:
    """Cleared everywhere at once (the widget banners are told live)."""
    return await update(
        session, workspace_id=workspace_id, announcement_id=announcement_id, changes={"active": False}
    )


async def delete(session: AsyncSession, *, workspace_id: int, announcement_id: int) -> None:
    row = await get(session, workspace_id=workspace_id, announcement_id=announcement_id)
    await session.delete(row)
    await session.flush()
    await _push(session, workspace_id)


async def _changed(session: AsyncSession, row: Announcement) -> None:
    """Tell the widgets now; and again when a future start or end comes (a durable job)."""
    await _push(session, row.workspace_id)
    from sodam.jobs.app import defer_in_tx

    now = _now()
    for at in (row.starts_at, row.ends_at):
        if at is not None and at > now:
            await defer_in_tx(
                session,
                "campaigns.banner_changed",
                {"workspace_id": row.workspace_id},
                scheduled_at=at,
            )


async def _push(session: AsyncSession, workspace_id: int) -> None:
    from sodam.campaigns import live

    await live.publish_banner_changed(session, workspace_id=workspace_id)


def wire(a: Announcement, language: str) -> dict[str, Any]:
    """What the widget shows."""
    return {
        "id": a.id,
        "kind": "announcement",
        "severity": a.severity,
        "text": text_of(a, language),
        "ends_at": a.ends_at.isoformat() if a.ends_at else None,
    }
