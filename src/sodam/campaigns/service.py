"""Campaigns: create and change (draft), schedule in the campaign's time zone, start, pause,
cancel, and their counts. Sending is `send.py` (batches by a durable job). Never commits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.campaigns import tracking
from sodam.campaigns.models import CHANNELS, Campaign, CampaignRecipient
from sodam.channels.models import ChannelType, Inbox
from sodam.config import get_settings
from sodam.core.errors import Conflict, Invalid, NotFound
from sodam.jobs.app import defer_in_tx
from sodam.segments import service as segments

RUN_TASK = "campaigns.run"
MAX_RATE = 10_000
EDITABLE = ("draft", "scheduled", "paused")
FIELDS = (
    "name",
    "segment_id",
    "inbox_id",
    "channel",
    "subject_ko",
    "subject_en",
    "body_ko",
    "body_en",
    "template_code",
    "template_variables",
    "rate_per_s",
    "timezone",
    "ends_at",
    "survey_id",
)
SURVEY_LINK = "{survey_link}"
SURVEY_CHANNELS = ("widget_message", "email", "api")


def _now() -> datetime:
    return datetime.now(UTC)


def _bad(message: str, field: str) -> Invalid:
    return Invalid(message, code="invalid_campaign", details={"field": field})


async def get(session: AsyncSession, *, workspace_id: int, campaign_id: int, lock: bool = False) -> Campaign:
    """A campaign of this workspace (404 otherwise)."""
    stmt = select(Campaign).where(Campaign.workspace_id == workspace_id, Campaign.id == campaign_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    found = await session.scalar(stmt)
    if found is None:
        raise NotFound("campaign not found")
    return found


async def list_(
    session: AsyncSession, *, workspace_id: int, after_id: int | None = None, limit: int = 100
) -> list[Campaign]:
    """Newest first (keyset on id)."""
    stmt = select(Campaign).where(Campaign.workspace_id == workspace_id)
    if after_id is not None:
        stmt = stmt.where(Campaign.id < after_id)
    return list(await session.scalars(stmt.order_by(Campaign.id.desc()).limit(limit)))


def channel_fits(channel: str, inbox: Inbox) -> bool:
    adapter = (inbox.settings or {}).get("adapter")
    return {
        "widget_message": inbox.channel_type == ChannelType.web_widget,
        "widget_banner": inbox.channel_type == ChannelType.web_widget,
        "email": inbox.channel_type == ChannelType.email,
        "api": inbox.channel_type == ChannelType.api and adapter != "kakao",
        "alimtalk": inbox.channel_type == ChannelType.api and adapter == "kakao",
    }.get(channel, False)


def local_time(value: datetime, zone: str) -> datetime:
    """A time without an offset is read in the campaign's zone; stored in UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(zone))
    return value.astimezone(UTC)


async def _validate(session: AsyncSession, c: Campaign) -> None:
    if not (c.name or "").strip() or len(c.name) > 200:
        raise _bad("name is 1-200 characters", "name")
    c.name = c.name.strip()
    if c.channel not in CHANNELS:
        raise _bad("channel is one of " + ", ".join(CHANNELS), "channel")
    inbox = await session.scalar(
        select(Inbox).where(Inbox.workspace_id == c.workspace_id, Inbox.id == c.inbox_id)
    )
    if inbox is None:
        raise NotFound("inbox not found", details={"field": "inbox_id"})
    if not channel_fits(c.channel, inbox):
        raise _bad(f"a {c.channel} campaign cannot go out on this inbox", "inbox_id")
    if c.segment_id is None:
        raise _bad("segment_id is required", "segment_id")
    await segments.get(session, workspace_id=c.workspace_id, segment_id=c.segment_id)
    limit = get_settings().max_message_chars
    if c.channel == "alimtalk":
        if not (c.template_code or "").strip():
            raise _bad("an 알림톡 campaign needs template_code", "template_code")
        if not isinstance(c.template_variables, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and len(v) <= 500
            for k, v in c.template_variables.items()
        ):
            raise _bad("template_variables maps names to strings", "template_variables")
    elif not (c.body_ko or "").strip():
        raise _bad("body_ko is required", "body_ko")
    for field in ("body_ko", "body_en"):
        if len(getattr(c, field) or "") > limit:
            raise _bad(f"{field} is longer than {limit} characters", field)
        if "\x00" in (getattr(c, field) or ""):
            raise _bad(f"{field} contains the NUL character", field)
    wants_link = SURVEY_LINK in (c.body_ko or "") + (c.body_en or "")
    if wants_link and c.survey_id is None:
        raise _bad("{survey_link} needs survey_id (the survey to link)", "survey_id")
    if c.survey_id is not None:
        if c.channel not in SURVEY_CHANNELS:
            raise _bad("a survey link goes out by widget message, e-mail or API", "survey_id")
        from sodam.surveys import service as surveys

        await surveys.get(session, workspace_id=c.workspace_id, survey_id=c.survey_id, audience="customers")
        if not wants_link:
            raise _bad("put {survey_link} in the copy where the link goes", "body_ko")
    for field in ("subject_ko", "subject_en"):
        if len(getattr(c, field) or "") > 200:
            raise _bad(f"{field} is longer than 200 characters", field)
    if c.channel == "email" and not (c.subject_ko or "").strip():
        raise _bad("an e-mail campaign needs subject_ko", "subject_ko")
    if not isinstance(c.rate_per_s, int) or not 1 <= c.rate_per_s <= MAX_RATE:
        raise _bad(f"rate_per_s is 1-{MAX_RATE}", "rate_per_s")
    try:
        ZoneInfo(c.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _bad("timezone is not a known IANA zone", "timezone") from None
    if c.ends_at is not None:
        c.ends_at = local_time(c.ends_at, c.timezone)
    c.links = tracking.links_in(c.body_ko, c.body_en)


async def create(
    session: AsyncSession, *, workspace_id: int, created_by: int | None, **fields: Any
) -> Campaign:
    """A draft campaign (validated: 422 invalid_campaign with the field)."""
    data = {k: v for k, v in fields.items() if k in FIELDS and v is not None}
    defaults = {
        "status": "draft",
        "subject_ko": "",
        "subject_en": "",
        "body_ko": "",
        "body_en": "",
        "template_variables": {},
        "rate_per_s": 50,
        "timezone": "Asia/Seoul",
    }
    c = Campaign(workspace_id=workspace_id, created_by=created_by, **(defaults | data))
    await _validate(session, c)
    session.add(c)
    await session.flush()
    if fields.get("scheduled_at") is not None:
        await schedule(session, workspace_id=workspace_id, campaign_id=c.id, at=fields["scheduled_at"])
    return c


def _editable(c: Campaign) -> None:
    if c.status not in EDITABLE:
        raise Conflict(
            f"a {c.status} campaign cannot be changed", code="campaign_locked", details={"status": c.status}
        )


async def update_(
    session: AsyncSession, *, workspace_id: int, campaign_id: int, changes: dict[str, Any]
) -> Campaign:
    c = await get(session, workspace_id=workspace_id, campaign_id=campaign_id, lock=True)
    _editable(c)
    if c.materialized and any(k in changes for k in ("segment_id", "inbox_id", "channel")):
        raise Conflict("the audience and channel are fixed once sending began", code="campaign_locked")
    for key, value in changes.items():
        if key in FIELDS and (value is not None or key in ("ends_at", "template_code", "survey_id")):
            setattr(c, key, value)
    await _validate(session, c)
    await session.flush()
    return c


async def delete(session: AsyncSession, *, workspace_id: int, campaign_id: int) -> None:
    """Only a campaign that never sent (draft or scheduled) is deleted; the others are kept."""
    c = await get(session, workspace_id=workspace_id, campaign_id=campaign_id, lock=True)
    if c.materialized:
        raise Conflict("a campaign that sent is kept (cancel it instead)", code="campaign_locked")
    await session.delete(c)
    await session.flush()


async def _defer_run(session: AsyncSession, c: Campaign, at: datetime | None = None) -> None:
    await defer_in_tx(
        session, RUN_TASK, {"campaign_id": c.id}, queue="campaigns", lock=f"campaign-{c.id}", scheduled_at=at
    )


async def schedule(session: AsyncSession, *, workspace_id: int, campaign_id: int, at: datetime) -> Campaign:
    """Send at `at` (no offset: the campaign's time zone)."""
    c = await get(session, workspace_id=workspace_id, campaign_id=campaign_id, lock=True)
    _editable(c)
    when = local_time(at, c.timezone)
    if when <= _now():
        raise _bad("scheduled_at must be in the future", "scheduled_at")
    c.scheduled_at = when
    c.status = "scheduled"
    await session.flush()
    await _defer_run(session, c, when)
    return c


async def start(session: AsyncSession, *, workspace_id: int, campaign_id: int) -> Campaign:
    """Start (or resume) now."""
    c = await get(session, workspace_id=workspace_id, campaign_id=campaign_id, lock=True)
    if c.status == "running":
        return c
    _editable(c)
    await _validate(session, c)
    c.status = "running"
    c.started_at = c.started_at or _now()
    await session.flush()
    await _defer_run(session, c)
    return c


async def pause(session: AsyncSession, *, workspace_id: int, campaign_id: int) -> Campaign:
    c = await get(session, workspace_id=workspace_id, campaign_id=campaign_id, lock=True)
    if c.status not in ("running", "scheduled"):
        raise Conflict(f"a {c.status} campaign cannot be paused", code="campaign_not_running")
    c.status = "paused"
    await session.flush()
    return c


async def cancel(session: AsyncSession, *, workspace_id: int, campaign_id: int) -> Campaign:
    """Stop for good: who was not sent yet never is; a banner disappears."""
    c = await get(session, workspace_id=workspace_id, campaign_id=campaign_id, lock=True)
    if c.status == "cancelled":
        return c
    if c.status == "done" and c.channel != "widget_banner":
        raise Conflict("a finished campaign cannot be cancelled", code="campaign_finished")
    c.status = "cancelled"
    c.finished_at = c.finished_at or _now()
    await session.execute(
        update(CampaignRecipient)
        .where(CampaignRecipient.campaign_id == c.id, CampaignRecipient.status == "queued")
        .values(status="cancelled")
    )
    await session.flush()
    if c.channel == "widget_banner":
        from sodam.campaigns import live

        await live.publish_banner_changed(session, workspace_id=workspace_id, inbox_ids=[c.inbox_id])
    return c


STATS_SQL = text(
    """
    SELECT count(*) FILTER (WHERE r.status = 'queued') AS queued,
           count(*) FILTER (WHERE r.status = 'sent') AS sent,
           count(*) FILTER (WHERE r.status = 'skipped') AS skipped,
           count(*) FILTER (WHERE r.status = 'cancelled') AS cancelled,
           count(*) FILTER (WHERE r.status = 'sent' AND (
               CASE :channel
                 WHEN 'api' THEN EXISTS (SELECT 1 FROM webhook_deliveries d
                                          WHERE d.workspace_id = r.workspace_id
                                            AND d.event_id = 'evt_msg' || r.message_id AND d.status = 'delivered')
                 WHEN 'email' THEN m.payload #>> '{mail,delivery,status}' = 'sent'
                 WHEN 'alimtalk' THEN coalesce(m.payload #>> '{kakao,delivery,status}', m.payload #>> '{kakao,status}')
                                      IN ('sent', 'delivered')
                 ELSE true END)) AS delivered,
           count(r.opened_at) AS opened,
           count(r.clicked_at) AS clicked,
           count(r.replied_at) AS replied
      FROM campaign_recipients r
      LEFT JOIN messages m ON m.id = r.message_id AND :channel IN ('email', 'alimtalk')
     WHERE r.campaign_id = :cid AND r.workspace_id = :ws
    """
)


async def stats(session: AsyncSession, *, campaign: Campaign) -> dict[str, Any]:
    """sent / delivered / opened / clicked / replied (and queued, skipped) now."""
    row = (
        (
            await session.execute(
                STATS_SQL, {"cid": campaign.id, "ws": campaign.workspace_id, "channel": campaign.channel}
            )
        )
        .mappings()
        .one()
    )
    out = {k: int(v) for k, v in row.items()}
    total = campaign.total or sum(out[k] for k in ("queued", "sent", "skipped", "cancelled"))
    done = out["sent"] + out["skipped"] + out["cancelled"]
    out["total"] = total
    out["progress"] = round(done / total, 4) if total else (1.0 if campaign.status == "done" else 0.0)
    return out


async def stats_many(session: AsyncSession, *, campaigns: list[Campaign]) -> dict[int, dict[str, Any]]:
    return {c.id: await stats(session, campaign=c) for c in campaigns}


async def recipient(session: AsyncSession, *, recipient_id: int) -> CampaignRecipient | None:
    return await session.get(CampaignRecipient, recipient_id)


async def mark(session: AsyncSession, *, recipient_id: int, what: str) -> bool:
    """Record an open or a click (the first one counts; a click also means opened)."""
    now = _now()
    values = {"opened_at": func.coalesce(CampaignRecipient.opened_at, now)}
    if what == "clicked":
        values["clicked_at"] = func.coalesce(CampaignRecipient.clicked_at, now)
    result = await session.execute(
        update(CampaignRecipient)
        .where(CampaignRecipient.id == recipient_id, CampaignRecipient.status == "sent")
        .values(**values)
    )
    return bool(result.rowcount)
