"""Browser calls' lifecycle: ring, answer, decline, end, miss, book.

One live call (ringing or active) per conversation. The agent always makes the WebRTC offer
once the call is answered, whoever started it. Every state change is one transaction that
also queues its frame (delivered after COMMIT); an ended call is recorded on the conversation
as a system message (kind, outcome, duration) and on the contact's timeline (`web_call`).
Services never commit: the caller owns the transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.calls import delivery
from sodam.calls.models import KINDS, LIVE, WebCall
from sodam.channels.models import Inbox
from sodam.channels.promise import business_hours
from sodam.config import get_settings
from sodam.contacts.models import Contact
from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation, MessageKind, SenderType
from sodam.conversations.realtime import agent_name
from sodam.core.errors import Conflict, Invalid, NotFound
from sodam.core.i18n import gettext
from sodam.jobs.app import defer_in_tx


def _now() -> datetime:
    return datetime.now(UTC)


def _lang(language: str | None) -> str:
    return "en" if (language or "").startswith("en") else "ko"


async def _language(session: AsyncSession, conversation: Conversation) -> str:
    """The customer's language: the conversation's, else the contact's (the widget's locale)."""
    if conversation.language:
        return _lang(conversation.language)
    contact = await session.get(Contact, conversation.contact_id)
    return _lang(contact.language if contact else None)


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise Invalid("kind must be video or voice", code="invalid_kind", details={"kind": str(kind)[:20]})
    return kind


def call_out(call: WebCall, agent: str | None = None) -> dict[str, Any]:
    """The call as the API and the socket frames show it."""

    def iso(at: datetime | None) -> str | None:
        return at.isoformat() if at else None

    return {
        "id": call.id,
        "conversation_id": call.conversation_id,
        "kind": call.kind,
        "initiator": call.initiator,
        "status": call.status,
        "outcome": call.outcome,
        "agent_id": call.agent_id,
        "agent_name": agent,
        "scheduled_at": iso(call.scheduled_at),
        "ringing_at": iso(call.ringing_at),
        "started_at": iso(call.started_at),
        "ended_at": iso(call.ended_at),
        "duration_s": call.duration_s,
        "created_at": iso(call.created_at),
    }


async def get(session: AsyncSession, *, workspace_id: int, call_id: int, lock: bool = False) -> WebCall:
    """A call of this workspace (404 otherwise); `lock` takes the row lock for a state change."""
    stmt = select(WebCall).where(WebCall.id == call_id, WebCall.workspace_id == workspace_id)
    call = await session.scalar(stmt.with_for_update() if lock else stmt)
    if call is None:
        raise NotFound("call not found")
    return call


async def list_for_conversation(
    session: AsyncSession, *, workspace_id: int, conversation_id: int
) -> list[WebCall]:
    """Every call of a conversation, newest first."""
    await conversations.get(session, workspace_id=workspace_id, conversation_id=conversation_id)
    return list(
        await session.scalars(
            select(WebCall)
            .where(WebCall.workspace_id == workspace_id, WebCall.conversation_id == conversation_id)
            .order_by(WebCall.id.desc())
            .limit(200)
        )
    )


async def _lock_conversation(session: AsyncSession, conversation_id: int) -> None:
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"web_call:{conversation_id}"}
    )


async def _live(session: AsyncSession, conversation_id: int) -> WebCall | None:
    return await session.scalar(
        select(WebCall).where(WebCall.conversation_id == conversation_id, WebCall.status.in_(LIVE)).limit(1)
    )


async def _frame(session: AsyncSession, call: WebCall, action: str, **extra: Any) -> dict[str, Any]:
    name = await agent_name(session, call.agent_id)
    return {"type": "call", "action": action, "call": call_out(call, name), **extra}


async def _announce(session: AsyncSession, call: WebCall, action: str) -> None:
    """The lifecycle frame to the workspace's agents and the customer, after COMMIT."""
    await delivery.publish(session, delivery.lifecycle_topics(call), await _frame(session, call, action))


async def _ring(session: AsyncSession, call: WebCall) -> None:
    call.status = "ringing"
    call.ringing_at = _now()
    await session.flush()
    timeout = get_settings().call_ring_timeout_s
    await defer_in_tx(
        session,
        "calls.ring_timeout",
        {"call_id": call.id, "ringing_at": call.ringing_at.isoformat()},
        scheduled_at=call.ringing_at + timedelta(seconds=timeout),
    )


async def invite(
    session: AsyncSession,
    *,
    workspace_id: int,
    conversation_id: int,
    agent_id: int,
    kind: str,
    call_id: int | None = None,
) -> WebCall:
    """An agent calls the conversation's customer (or a booked call at its time): it rings."""
    check_kind(kind)
    conversation = await conversations.get(
        session, workspace_id=workspace_id, conversation_id=conversation_id
    )
    await _lock_conversation(session, conversation.id)
    if await _live(session, conversation.id) is not None:
        raise Conflict("this conversation already has a call", code="call_in_progress")
    if call_id is not None:
        call = await get(session, workspace_id=workspace_id, call_id=call_id, lock=True)
        if call.conversation_id != conversation.id or call.status != "scheduled":
            raise Conflict(
                "only a booked call of this conversation can be started", code="call_not_scheduled"
            )
        call.agent_id = agent_id
    else:
        call = WebCall(
            workspace_id=workspace_id,
            conversation_id=conversation.id,
            inbox_id=conversation.inbox_id,
            contact_id=conversation.contact_id,
            agent_id=agent_id,
            kind=kind,
            initiator="agent",
            language=await _language(session, conversation),
        )
        session.add(call)
    await _ring(session, call)
    await _announce(session, call, "invite")
    return call


async def request(session: AsyncSession, *, inbox: Inbox, contact_id: int, kind: str) -> WebCall:
    """The widget's customer asks for a call in their current conversation (opened if none)."""
    check_kind(kind)
    conversation = await conversations.find_or_create_open(
        session, workspace_id=inbox.workspace_id, inbox_id=inbox.id, contact_id=contact_id
    )
    await _lock_conversation(session, conversation.id)
    if await _live(session, conversation.id) is not None:
        raise Conflict("this conversation already has a call", code="call_in_progress")
    call = WebCall(
        workspace_id=inbox.workspace_id,
        conversation_id=conversation.id,
        inbox_id=inbox.id,
        contact_id=contact_id,
        agent_id=None,
        kind=kind,
        initiator="contact",
        language=await _language(session, conversation),
    )
    session.add(call)
    await _ring(session, call)
    await _announce(session, call, "requested")
    return call


async def accept(session: AsyncSession, *, call: WebCall, by: str, agent_id: int | None = None) -> WebCall:
    """The called side answers: the customer an agent's call, an agent the customer's request
    (the first agent to answer takes it). `call` is locked by the caller."""
    if call.status != "ringing":
        raise Conflict("this call is not ringing", code="call_not_ringing")
    if by == "agent":
        if call.initiator != "contact" or (call.agent_id not in (None, agent_id)):
            raise Conflict("this call is not waiting for an agent", code="call_taken")
        call.agent_id = agent_id
    elif call.initiator != "agent":
        raise Conflict("the customer cannot answer their own request", code="call_not_ringing")
    call.status = "active"
    call.started_at = _now()
    await session.flush()
    await _announce(session, call, "accepted")
    return call


async def finish(
    session: AsyncSession, *, call: WebCall, by: str, outcome: str | None = None, at: datetime | None = None
) -> WebCall:
    """End a call (idempotent for one already ended): answered → completed (or failed, when a
    side says the connection failed); still ringing → declined by the called side, else missed.
    `call` is locked by the caller."""
    if call.status not in LIVE:
        return call
    now = at or _now()
    if call.status == "active":
        outcome = "failed" if outcome == "failed" else "completed"
        call.duration_s = max(0, int((now - call.started_at).total_seconds())) if call.started_at else 0
    elif outcome != "declined":
        outcome = "failed" if outcome == "failed" else "missed"
    call.status = "ended"
    call.outcome = outcome
    call.ended_at = now
    call.ended_by = by
    await session.flush()
    await _record(session, call)
    await _announce(session, call, "ended")
    return call


async def decline(session: AsyncSession, *, call: WebCall, by: str) -> WebCall:
    """The called side says no while it rings (the caller cancelling is a missed call)."""
    called = "contact" if call.initiator == "agent" else "agent"
    return await finish(session, call=call, by=by, outcome="declined" if by == called else "missed")


async def ring_timeout(session: AsyncSession, *, call_id: int, ringing_at: str) -> bool:
    """The durable timer: a call still ringing since `ringing_at` is missed."""
    call = await session.scalar(select(WebCall).where(WebCall.id == call_id).with_for_update())
    if call is None or call.status != "ringing" or call.ringing_at is None:
        return False
    if call.ringing_at.isoformat() != ringing_at:
        return False  # rung again since (a booked call started anew)
    await finish(session, call=call, by="system", outcome="missed")
    return True


ALIVE_EVERY_S = 20  # the pages' heartbeat while connected (widget-call.js, console-calls.js)
SILENT_AFTER_S = 90  # a connected call with no heartbeat this long: both pages are gone
REMIND_BEFORE = timedelta(minutes=10)
MISSED_AFTER = timedelta(minutes=30)  # a booked call nobody started by then was missed


async def alive(session: AsyncSession, *, call: WebCall) -> None:
    """A heartbeat from a page on the connected call."""
    if call.status == "active":
        await session.execute(
            text("UPDATE web_calls SET alive_at = now() WHERE id = :id AND status = 'active'"),
            {"id": call.id},
        )


async def sweep(session: AsyncSession, *, now: datetime | None = None) -> dict[str, int]:
    """Every minute: connected calls whose pages all went silent end (completed at the last
    heartbeat); booked calls get their reminder 10 minutes ahead, and one nobody started within
    30 minutes of its time is missed."""
    now = now or _now()
    done = {"silent": 0, "reminded": 0, "missed": 0}
    silent = await session.scalars(
        select(WebCall)
        .where(
            WebCall.status == "active",
            func.coalesce(WebCall.alive_at, WebCall.started_at) < now - timedelta(seconds=SILENT_AFTER_S),
        )
        .limit(200)
        .with_for_update(skip_locked=True)
    )
    for call in list(silent):
        await finish(session, call=call, by="system", at=call.alive_at or call.started_at)
        done["silent"] += 1
    due = await session.scalars(
        select(WebCall)
        .where(
            WebCall.status == "scheduled",
            WebCall.reminded_at.is_(None),
            WebCall.scheduled_at <= now + REMIND_BEFORE,
            WebCall.scheduled_at > now - MISSED_AFTER,
        )
        .limit(200)
        .with_for_update(skip_locked=True)
    )
    for call in list(due):
        await _remind(session, call)
        done["reminded"] += 1
    late = await session.scalars(
        select(WebCall)
        .where(WebCall.status == "scheduled", WebCall.scheduled_at <= now - MISSED_AFTER)
        .limit(200)
        .with_for_update(skip_locked=True)
    )
    for call in list(late):
        call.status, call.outcome, call.ended_at, call.ended_by = "ended", "missed", now, "system"
        await session.flush()
        await _record(session, call)
        await _announce(session, call, "ended")
        done["missed"] += 1
    return done


async def _remind(session: AsyncSession, call: WebCall) -> None:
    """The booked call is near: the customer reads it in the conversation; the agents' call
    bars get a `due` frame (the booked call with its 지금 걸기 button)."""
    call.reminded_at = _now()
    conversation = await session.get(Conversation, call.conversation_id)
    inbox = await session.get(Inbox, call.inbox_id)
    if conversation is not None and inbox is not None:
        await _post_booking(session, call=call, conversation=conversation, inbox=inbox, what="reminder")
    await session.flush()
    await _announce(session, call, "due")


def duration_text(seconds: int, language: str) -> str:
    minutes, secs = divmod(max(0, seconds), 60)
    if language == "en":
        return f"{minutes} min {secs} s" if minutes else f"{secs} s"
    return f"{minutes}분 {secs}초" if minutes else f"{secs}초"


def record_text(call: WebCall, language: str) -> str:
    kind = gettext(language, f"calls.kind.{call.kind}")
    outcome = gettext(language, f"calls.outcome.{call.outcome}")
    if call.outcome == "completed" and call.duration_s is not None:
        return gettext(language, "calls.record_duration", kind=kind, outcome=outcome,
                       duration=duration_text(call.duration_s, language))  # fmt: skip
    return gettext(language, "calls.record", kind=kind, outcome=outcome)


async def _record(session: AsyncSession, call: WebCall) -> None:
    """The ended call on the conversation: a system message both sides see."""
    conversation = await session.get(Conversation, call.conversation_id)
    if conversation is None:
        return
    await conversations.create_message(
        session,
        conversation=conversation,
        content=record_text(call, call.language),
        sender_type=SenderType.system,
        sender_id=None,
        kind=MessageKind.system,
        client_id=f"web_call:{call.id}:ended",
        payload={"web_call": call_out(call)},
    )


async def book(
    session: AsyncSession,
    *,
    inbox: Inbox,
    conversation: Conversation,
    kind: str,
    scheduled_at: datetime,
    initiator: str,
    now: datetime | None = None,
) -> WebCall:
    """Book a call at an offered slot (409 slot_unavailable otherwise); the confirmation is
    posted in the conversation in the customer's language."""
    from sodam.calls import slots

    check_kind(kind)
    now = now or _now()
    if scheduled_at.tzinfo is None:
        raise Invalid("scheduled_at needs a time zone (e.g. 2026-12-03T14:00:00+09:00)", code="invalid_slot")
    # One booking per inbox at a time: two customers cannot both take the last place.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"web_call_slots:{inbox.id}"}
    )
    offered = await slots.offered(session, inbox=inbox, now=now, days=slots.MAX_DAYS)
    if not any(s.start == scheduled_at for s in offered):
        raise Conflict(
            "this slot is not offered (outside the hours, full or past): pick one from the slots",
            code="slot_unavailable",
            details={"scheduled_at": scheduled_at.isoformat()},
        )
    lang = await _language(session, conversation)
    call = WebCall(
        workspace_id=inbox.workspace_id,
        conversation_id=conversation.id,
        inbox_id=inbox.id,
        contact_id=conversation.contact_id,
        kind=kind,
        initiator=initiator,
        status="scheduled",
        scheduled_at=scheduled_at.astimezone(UTC),
        language=lang,
    )
    session.add(call)
    await session.flush()
    await _post_booking(session, call=call, conversation=conversation, inbox=inbox, what="booked")
    await _announce(session, call, "booked")
    return call


async def _post_booking(
    session: AsyncSession, *, call: WebCall, conversation: Conversation, inbox: Inbox, what: str
) -> None:
    """A booked call's line in the conversation ("booked" or "reminder"), in the customer's
    language, once (its client id)."""
    from sodam.voice.callbacks import when_text

    lang = _lang(call.language)
    await conversations.create_message(
        session,
        conversation=conversation,
        content=gettext(
            lang,
            f"calls.{what}",
            kind=gettext(lang, f"calls.kind.{call.kind}"),
            when=when_text(call.scheduled_at, business_hours(inbox), lang),
        ),
        sender_type=SenderType.system,
        sender_id=None,
        kind=MessageKind.system,
        client_id=f"web_call:{call.id}:{what}",
        payload={"web_call": call_out(call)},
    )


async def cancel(session: AsyncSession, *, workspace_id: int, call_id: int) -> WebCall:
    """Cancel a booked call (409 when it is not booked any more)."""
    call = await get(session, workspace_id=workspace_id, call_id=call_id, lock=True)
    if call.status != "scheduled":
        raise Conflict("only a booked call can be cancelled", code="call_not_scheduled")
    call.status = "cancelled"
    await session.flush()
    await _announce(session, call, "cancelled")
    return call
