"""Callbacks (전화 예약): booked from the widget, the IVR or the API at an offered slot; at
the slot a durable job makes the callback task (a conversation in the phone inbox's human
queue, routed to an agent with phone skills, carrying the customer's context); the agent
records the outcome (done / no answer / rescheduled). The customer gets a confirmation and a
reminder on their channel. Services never commit: the caller owns the transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.channels.models import Inbox
from sodam.channels.promise import business_hours
from sodam.contacts.models import Contact
from sodam.conversations import service as conversations
from sodam.conversations.message_path import create_message
from sodam.conversations.models import Conversation, MessageKind, SenderType, Status
from sodam.core.errors import Conflict, Invalid, NotFound
from sodam.core.i18n import gettext
from sodam.hours import calendar
from sodam.jobs.app import defer_in_tx
from sodam.routing.models import AgentSkill
from sodam.voice import numbers, slots
from sodam.voice.models import CALLBACK_OUTCOMES, Callback, PhoneLine

REMIND_BEFORE = timedelta(minutes=30)
PHONE_SKILL = "phone"
WEEKDAYS_KO = "월화수목금토일"


def when_text(at: datetime, config: dict | None, language: str) -> str:
    """'12월 3일(목) 14:00' / 'Thu, Dec 3, 14:00' in the line's time zone."""
    tz = ZoneInfo((config or calendar.DEFAULT_HOURS).get("timezone") or calendar.DEFAULT_TIMEZONE)
    local = at.astimezone(tz)
    if language == "en":
        return local.strftime("%a, %b %-d, %H:%M")
    return f"{local.month}월 {local.day}일({WEEKDAYS_KO[local.weekday()]}) {local:%H:%M}"


def _lang(language: str | None) -> str:
    return "en" if (language or "").startswith("en") else "ko"


async def get(session: AsyncSession, *, workspace_id: int, callback_id: int) -> Callback:
    found = await session.scalar(
        select(Callback).where(Callback.workspace_id == workspace_id, Callback.id == callback_id)
    )
    if found is None:
        raise NotFound("callback not found")
    return found


async def by_task(session: AsyncSession, *, workspace_id: int, conversation_id: int) -> Callback | None:
    return await session.scalar(
        select(Callback).where(
            Callback.workspace_id == workspace_id, Callback.task_conversation_id == conversation_id
        )
    )


async def list_(
    session: AsyncSession,
    *,
    workspace_id: int,
    statuses: list[str] | None = None,
    contact_id: int | None = None,
    limit: int = 100,
) -> list[Callback]:
    stmt = select(Callback).where(Callback.workspace_id == workspace_id)
    if statuses:
        stmt = stmt.where(Callback.status.in_(statuses))
    if contact_id is not None:
        stmt = stmt.where(Callback.contact_id == contact_id)
    return list(await session.scalars(stmt.order_by(Callback.slot_at, Callback.id).limit(limit)))


async def _check_slot(
    session: AsyncSession, *, inbox: Inbox, line: PhoneLine, slot_at: datetime, now: datetime
) -> datetime:
    """The slot, if it is offered now (409 slot_unavailable otherwise)."""
    if slot_at.tzinfo is None:
        raise Invalid("slot_at needs a time zone (e.g. 2026-12-03T14:00:00+09:00)", code="invalid_slot")
    # One booking per line at a time: two customers cannot both take the last place.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"callbacks:{line.inbox_id}"}
    )
    offered = await slots.offered(
        session, line=line, config=business_hours(inbox), now=now, days=slots.MAX_DAYS
    )
    for slot in offered:
        if slot.start == slot_at:
            return slot.start.astimezone(UTC)
    raise Conflict(
        "this slot is not offered (outside the hours, full or past): pick one from the slots",
        code="slot_unavailable",
        details={"slot_at": slot_at.isoformat()},
    )


async def _schedule_jobs(session: AsyncSession, callback: Callback, now: datetime) -> None:
    args = {"callback_id": callback.id, "slot_at": callback.slot_at.isoformat()}
    await defer_in_tx(session, "voice.callback_due", args, queue="routing", scheduled_at=callback.slot_at)
    remind_at = callback.slot_at - REMIND_BEFORE
    if remind_at > now + timedelta(minutes=1):
        await defer_in_tx(session, "voice.callback_reminder", args, scheduled_at=remind_at)


async def book(
    session: AsyncSession,
    *,
    inbox: Inbox,
    line: PhoneLine,
    contact: Contact,
    phone: str,
    slot_at: datetime,
    source: str,
    language: str | None = None,
    note: str = "",
    team_id: int | None = None,
    origin_conversation_id: int | None = None,
    now: datetime | None = None,
) -> Callback:
    """Book a callback at an offered slot; the confirmation goes to the customer's channel."""
    now = now or datetime.now(UTC)
    number = numbers.normalise(phone)
    if number is None:
        raise Invalid("not a phone number", code="invalid_phone", details={"phone": phone[:40]})
    at = await _check_slot(session, inbox=inbox, line=line, slot_at=slot_at, now=now)
    callback = Callback(
        workspace_id=inbox.workspace_id,
        inbox_id=inbox.id,
        contact_id=contact.id,
        phone=number,
        slot_at=at,
        status="scheduled",
        source=source,
        language=_lang(language or contact.language),
        note=(note or "").strip()[:1000],
        team_id=team_id or line.team_id,
        origin_conversation_id=origin_conversation_id,
        history=[],
    )
    session.add(callback)
    if not contact.phone:
        contact.phone = numbers.display(number)
    await session.flush()
    await _schedule_jobs(session, callback, now)
    await tell_customer(session, callback=callback, inbox=inbox, what="confirmed")
    return callback


async def tell_customer(session: AsyncSession, *, callback: Callback, inbox: Inbox, what: str) -> bool:
    """A message to the customer where they asked (the widget conversation) — confirmed,
    reminder, no_answer — and an e-mail when the contact has an address and the workspace an
    inbox that can send (by a job). Returns whether the chat message was posted."""
    from sodam.voice import notify

    if await notify.can_mail(session, callback=callback):
        await defer_in_tx(
            session,
            "voice.callback_mail",
            {"callback_id": callback.id, "what": what, "slot_at": callback.slot_at.isoformat()},
            queue="mail",
        )
    if callback.origin_conversation_id is None:
        return False
    conversation = await session.get(Conversation, callback.origin_conversation_id)
    if conversation is None or conversation.workspace_id != callback.workspace_id:
        return False
    lang = callback.language
    content = gettext(
        lang,
        f"voice.callback.customer.{what}",
        when=when_text(callback.slot_at, business_hours(inbox), lang),
        phone=numbers.display(callback.phone),
    )
    await create_message(
        session,
        conversation=conversation,
        content=content,
        sender_type=SenderType.system,
        sender_id=None,
        kind=MessageKind.system,
        client_id=f"callback:{callback.id}:{what}:{callback.slot_at:%Y%m%d%H%M}"[:64],
        payload={"callback": {"id": callback.id, "slot_at": callback.slot_at.isoformat(), "what": what}},
    )
    return True


async def _route_for(session: AsyncSession, *, workspace_id: int, team_id: int | None, language: str) -> dict:
    """What the task needs: phone skills (when anyone has them), the customer's language, the
    team. Set before routing sees the task, so routing uses it as it is; a skill nobody has is
    dropped (a rule must never strand a customer)."""
    known = set(
        await session.scalars(
            select(AgentSkill.skill).where(AgentSkill.workspace_id == workspace_id).distinct()
        )
    )
    skills, sources, dropped = {}, {}, []
    for skill, source in ((PHONE_SKILL, "callback"), (f"lang:{language}", "language")):
        if skill in known:
            skills[skill] = 1
            sources[skill] = source
        else:
            dropped.append(skill)
    return {"skills": skills, "team_id": team_id, "vip": False, "sources": sources, "dropped": dropped}


async def make_task(
    session: AsyncSession, *, callback_id: int, slot_at: str, now: datetime | None = None
) -> Conversation | None:
    """At the slot: the callback task, a conversation in the phone inbox's human queue with a
    system note (전화 예약, the number, the customer's note). A stale job (the callback was
    rescheduled, cancelled or already made) does nothing."""
    now = now or datetime.now(UTC)
    callback = await session.scalar(select(Callback).where(Callback.id == callback_id).with_for_update())
    if callback is None or callback.status != "scheduled" or callback.slot_at.isoformat() != slot_at:
        return None
    inbox = await session.get(Inbox, callback.inbox_id)
    conversation = await conversations.create(
        session,
        workspace_id=callback.workspace_id,
        inbox_id=callback.inbox_id,
        contact_id=callback.contact_id,
        language=callback.language,
        actor_type="system",
    )
    conversation.team_id = callback.team_id
    conversation.route = await _route_for(
        session, workspace_id=callback.workspace_id, team_id=callback.team_id, language=callback.language
    )
    await session.flush()
    await conversations.add_tags(
        session,
        workspace_id=callback.workspace_id,
        conversation_id=conversation.id,
        tags=["callback"],
        actor_type="system",
    )
    context = [callback.note] if callback.note else []
    if callback.origin_conversation_id:
        context.append(f"#{callback.origin_conversation_id}")
    await create_message(
        session,
        conversation=conversation,
        content=gettext(
            "ko" if inbox is None else callback.language,
            "voice.callback.task",
            phone=numbers.display(callback.phone),
            when=when_text(callback.slot_at, business_hours(inbox) if inbox else None, callback.language),
        )
        + (f" — {' · '.join(context)}" if context else ""),
        sender_type=SenderType.system,
        sender_id=None,
        kind=MessageKind.system,
        client_id=f"callback-task:{callback.id}:{callback.slot_at:%Y%m%d%H%M}"[:64],
        payload={
            "callback": {
                "id": callback.id,
                "phone": callback.phone,
                "phone_display": numbers.display(callback.phone),
                "slot_at": callback.slot_at.isoformat(),
                "source": callback.source,
                "note": callback.note,
                "origin_conversation_id": callback.origin_conversation_id,
            }
        },
        hints={"channel_type": "phone", "bot_enabled": False},
    )
    callback.status = "due"
    callback.task_conversation_id = conversation.id
    await session.flush()
    return conversation


async def remind(
    session: AsyncSession, *, callback_id: int, slot_at: str, now: datetime | None = None
) -> bool:
    """The reminder before the slot (once per slot)."""
    callback = await session.scalar(select(Callback).where(Callback.id == callback_id).with_for_update())
    if (
        callback is None
        or callback.status != "scheduled"
        or callback.slot_at.isoformat() != slot_at
        or callback.reminded_at is not None
    ):
        return False
    inbox = await session.get(Inbox, callback.inbox_id)
    callback.reminded_at = now or datetime.now(UTC)
    await session.flush()
    return await tell_customer(session, callback=callback, inbox=inbox, what="reminder")


async def record_outcome(
    session: AsyncSession,
    *,
    workspace_id: int,
    callback_id: int,
    outcome: str,
    agent_id: int | None,
    note: str = "",
    new_slot_at: datetime | None = None,
    now: datetime | None = None,
) -> Callback:
    """The agent's outcome: done, no answer (the customer is told), or rescheduled to a new
    offered slot (a new confirmation, reminder and task at that time). The task is resolved."""
    now = now or datetime.now(UTC)
    if outcome not in CALLBACK_OUTCOMES:
        raise Invalid("outcome is done, no_answer or rescheduled", code="invalid_outcome")
    callback = await get(session, workspace_id=workspace_id, callback_id=callback_id)
    if callback.status not in ("scheduled", "due", "no_answer"):
        raise Conflict("this callback is closed", code="callback_closed", details={"status": callback.status})
    inbox = await session.get(Inbox, callback.inbox_id)
    line = await session.get(PhoneLine, callback.inbox_id)
    entry: dict[str, Any] = {
        "outcome": outcome,
        "at": now.isoformat(),
        "agent_id": agent_id,
        "note": (note or "").strip()[:1000],
        "slot_at": callback.slot_at.isoformat(),
    }
    if outcome == "rescheduled":
        if new_slot_at is None:
            raise Invalid("rescheduling needs the new slot_at", code="invalid_slot")
        callback.slot_at = await _check_slot(session, inbox=inbox, line=line, slot_at=new_slot_at, now=now)
        entry["new_slot_at"] = callback.slot_at.isoformat()
        callback.status = "scheduled"
        callback.reminded_at = None
    else:
        callback.status = outcome
    task_id = callback.task_conversation_id
    callback.history = [*(callback.history or []), entry]
    await session.flush()
    if task_id is not None:
        task = await session.get(Conversation, task_id)
        if task is not None and task.status != Status.resolved:
            await conversations.set_status(
                session,
                workspace_id=workspace_id,
                conversation_id=task_id,
                status=Status.resolved,
                actor_id=agent_id,
            )
    if outcome == "rescheduled":
        await _schedule_jobs(session, callback, now)
        await tell_customer(session, callback=callback, inbox=inbox, what="confirmed")
    elif outcome == "no_answer":
        await tell_customer(session, callback=callback, inbox=inbox, what="no_answer")
    return callback


async def cancel(session: AsyncSession, *, workspace_id: int, callback_id: int) -> Callback:
    callback = await get(session, workspace_id=workspace_id, callback_id=callback_id)
    if callback.status == "scheduled":
        callback.status = "cancelled"
        await session.flush()
    return callback
