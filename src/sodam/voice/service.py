"""Phone lines, incident announcements, calls and voicemail. Services never commit: the
caller owns the transaction."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts import service as accounts
from sodam.campaigns import announcements
from sodam.campaigns.models import Announcement
from sodam.channels import service as inboxes
from sodam.channels.models import ChannelType, Inbox
from sodam.contacts import phones
from sodam.contacts import service as contacts
from sodam.contacts.models import Contact
from sodam.conversations import service as conversations
from sodam.conversations.message_path import create_message
from sodam.conversations.models import Conversation, MessageKind, SenderType
from sodam.core.errors import Conflict, Invalid, NotFound
from sodam.voice import ivr, numbers
from sodam.voice.models import OUTCOMES, Call, CallStep, PhoneLine

PHONE = "phone"  # the contact identity's channel: E.164 numbers
QUIET_INBOX = {"auto_reply": False}  # a phone conversation gets no first chat auto-reply


# ---- lines -----------------------------------------------------------------------------------
async def phone_inbox(session: AsyncSession, *, workspace_id: int, inbox_id: int) -> Inbox:
    """An inbox of this workspace that is a phone inbox (409 not_a_phone_inbox otherwise)."""
    inbox = await inboxes.get(session, workspace_id=workspace_id, inbox_id=inbox_id)
    if inbox.channel_type != ChannelType.phone:
        raise Conflict("this inbox is not a phone inbox", code="not_a_phone_inbox")
    return inbox


async def line_of(session: AsyncSession, *, inbox: Inbox) -> PhoneLine:
    """The inbox's line, created with a fresh auth token and the default menu on first use."""
    line = await session.get(PhoneLine, inbox.id)
    if line is None:
        line = PhoneLine(
            inbox_id=inbox.id,
            workspace_id=inbox.workspace_id,
            auth_token=secrets.token_hex(16),
            ivr=ivr.check(ivr.DEFAULT_TREE)[0],
        )
        session.add(line)
        await session.flush()
    return line


async def get_line(session: AsyncSession, *, workspace_id: int, inbox_id: int) -> tuple[Inbox, PhoneLine]:
    inbox = await phone_inbox(session, workspace_id=workspace_id, inbox_id=inbox_id)
    return inbox, await line_of(session, inbox=inbox)


async def list_lines(session: AsyncSession, *, workspace_id: int) -> list[tuple[Inbox, PhoneLine]]:
    """Every phone inbox of the workspace with its line."""
    out = []
    for inbox in await inboxes.list_(session, workspace_id=workspace_id):
        if inbox.channel_type == ChannelType.phone:
            out.append((inbox, await line_of(session, inbox=inbox)))
    return out


def checked_tree(tree: Any) -> dict[str, Any]:
    cleaned, problems = ivr.check(tree)
    if problems:
        raise Invalid(
            "the IVR menu is not valid",
            code="invalid_ivr",
            details={"problems": [p.as_dict() for p in problems]},
        )
    return cleaned


async def save_line(
    session: AsyncSession,
    *,
    workspace_id: int,
    inbox_id: int,
    changes: dict[str, Any],
) -> PhoneLine:
    """Change a line: its menu (validated), number, auth token, fallback team, slot capacity."""
    _inbox, line = await get_line(session, workspace_id=workspace_id, inbox_id=inbox_id)
    if "ivr" in changes:
        tree = checked_tree(changes["ivr"])
        for team_id in ivr.team_ids(tree):
            try:
                await accounts.get_team(session, workspace_id=workspace_id, team_id=team_id)
            except NotFound:
                raise Invalid(
                    "the IVR menu names a team that does not exist",
                    code="invalid_ivr",
                    details={
                        "problems": [{"field": "team_id", "code": "unknown_team", "message": str(team_id)}]
                    },
                ) from None
        line.ivr = tree
    if "number" in changes:
        raw = changes["number"]
        number = numbers.normalise(raw) if raw else None
        if raw and number is None:
            raise Invalid("not a phone number", code="invalid_number")
        line.number = number
    if changes.get("auth_token"):
        line.auth_token = str(changes["auth_token"]).strip()[:200]
    if "team_id" in changes:
        team_id = changes["team_id"]
        if team_id is not None:
            await accounts.get_team(session, workspace_id=workspace_id, team_id=int(team_id))
        line.team_id = team_id
    if "callbacks_per_slot" in changes:
        value = changes["callbacks_per_slot"]
        if value is not None and not (0 <= int(value) <= 1000):
            raise Invalid("callbacks per slot is 0-1000", code="invalid_capacity")
        line.callbacks_per_slot = value
    await session.flush()
    return line


async def line_by_token(session: AsyncSession, *, public_token: str) -> tuple[Inbox, PhoneLine]:
    """The phone inbox a webhook URL names (its public token: an id, not a secret)."""
    inbox = await inboxes.get_by_public_token(session, public_token=public_token)
    if inbox.channel_type != ChannelType.phone:
        raise NotFound("unknown phone line", code="unknown_inbox")
    return inbox, await line_of(session, inbox=inbox)


# ---- announcements ---------------------------------------------------------------------------
# One announcement model (sodam.campaigns): the IVR reads the same rows as the widget banner,
# the bot and the auto-replies; /api/v1/phone/announcements stays as a view of them.
async def active_announcements(session: AsyncSession, workspace_id: int) -> list[Announcement]:
    """The incident announcements active now, oldest first (the IVR plays them before the menu)."""
    return await announcements.active(session, workspace_id)


async def list_announcements(session: AsyncSession, *, workspace_id: int) -> list[Announcement]:
    return await announcements.list_(session, workspace_id=workspace_id)


async def get_announcement(session: AsyncSession, *, workspace_id: int, announcement_id: int) -> Announcement:
    return await announcements.get(session, workspace_id=workspace_id, announcement_id=announcement_id)


async def create_announcement(
    session: AsyncSession, *, workspace_id: int, text_ko: str, text_en: str = "", active: bool = True
) -> Announcement:
    return await announcements.create(
        session,
        workspace_id=workspace_id,
        text_ko=text_ko,
        text_en=text_en,
        active=active,
        limit=ivr.MAX_PROMPT,
    )


async def update_announcement(
    session: AsyncSession, *, workspace_id: int, announcement_id: int, changes: dict[str, Any]
) -> Announcement:
    return await announcements.update(
        session,
        workspace_id=workspace_id,
        announcement_id=announcement_id,
        changes=changes,
        limit=ivr.MAX_PROMPT,
    )


async def delete_announcement(session: AsyncSession, *, workspace_id: int, announcement_id: int) -> None:
    await announcements.delete(session, workspace_id=workspace_id, announcement_id=announcement_id)


# ---- callers and calls -----------------------------------------------------------------------
async def contact_for_number(
    session: AsyncSession, *, workspace_id: int, number: str | None, name: str | None = None
) -> Contact:
    """The caller's contact: by the phone identity, else a contact whose phone is this number
    (written any way: 010-…, +82…), else a new contact with it."""
    if number is None:
        return await contacts.create(session, workspace_id=workspace_id, name=name)
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"contact-phone:{workspace_id}:{number}"}
    )
    identity = await contacts.by_identity(
        session, workspace_id=workspace_id, channel_type=PHONE, external_id=number
    )
    if identity is not None:
        return await contacts.get(session, workspace_id=workspace_id, contact_id=identity.contact_id)
    # contacts.phone_normalized is E.164 however the number was typed (010-…, +82…): one
    # indexed look-up (uq_contacts_phone), not a scan of every contact's phone.
    found = await session.scalar(
        select(Contact).where(
            Contact.workspace_id == workspace_id, Contact.phone_normalized == phones.normalise(number)
        )
    )
    if found is None:
        found = await contacts.create(
            session, workspace_id=workspace_id, name=name, phone=numbers.display(number)
        )
    await contacts.add_identity(
        session, workspace_id=workspace_id, contact_id=found.id, channel_type=PHONE, external_id=number
    )
    return found


async def lock_call(session: AsyncSession, *, inbox_id: int, call_sid: str) -> None:
    """One webhook step of a call at a time (a provider's retry waits, then finds the answer)."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"call:{inbox_id}:{call_sid}"}
    )


async def answered_step(session: AsyncSession, *, inbox_id: int, call_sid: str, step: str) -> str | None:
    row = await session.get(CallStep, (inbox_id, call_sid, step[:300]))
    return row.response if row else None


async def remember_step(
    session: AsyncSession, *, inbox: Inbox, call_sid: str, step: str, response: str
) -> None:
    session.add(
        CallStep(
            inbox_id=inbox.id,
            workspace_id=inbox.workspace_id,
            call_sid=call_sid,
            step=step[:300],
            response=response,
        )
    )
    await session.flush()


async def call_of(session: AsyncSession, *, inbox: Inbox, call_sid: str) -> Call | None:
    return await session.scalar(select(Call).where(Call.inbox_id == inbox.id, Call.call_sid == call_sid))


async def start_call(
    session: AsyncSession,
    *,
    inbox: Inbox,
    call_sid: str,
    from_number: str,
    to_number: str,
    language: str = "ko",
    direction: str = "inbound",
    now: datetime | None = None,
) -> Call:
    """The call of this CallSid (created on its first request, with the caller's contact)."""
    call = await call_of(session, inbox=inbox, call_sid=call_sid)
    if call is not None:
        return call
    number = numbers.normalise(from_number)
    contact = await contact_for_number(session, workspace_id=inbox.workspace_id, number=number)
    call = Call(
        workspace_id=inbox.workspace_id,
        inbox_id=inbox.id,
        call_sid=call_sid,
        contact_id=contact.id,
        direction=direction if direction in ("inbound", "outbound") else "inbound",
        from_number=(number or from_number or "")[:40],
        to_number=(numbers.normalise(to_number) or to_number or "")[:40],
        status="in-progress",
        language=language,
        path=[],
        **({"started_at": now} if now else {}),
    )
    session.add(call)
    await session.flush()
    return call


def set_outcome(call: Call, outcome: str, *, replace: bool = False) -> None:
    """The call's outcome; the first one stands unless `replace` (abandoned never overwrites)."""
    assert outcome in OUTCOMES
    if call.outcome is None or (replace and outcome != "abandoned"):
        call.outcome = outcome


def note_path(call: Call, node: str, digits: str | None) -> None:
    call.path = [*(call.path or []), {"node": node, "digits": digits or ""}][-50:]


async def status_changed(
    session: AsyncSession, *, call: Call, status: str, duration_s: int | None, now: datetime
) -> Call:
    """A status callback: the call's provider status; at its end, end time, length, outcome."""
    call.status = status[:20]
    if status in ("completed", "busy", "failed", "no-answer", "canceled"):
        call.ended_at = call.ended_at or now
        if duration_s is not None:
            call.duration_s = duration_s
        elif call.duration_s is None:
            call.duration_s = max(0, int((now - call.started_at).total_seconds()))
        set_outcome(call, "abandoned")
    await session.flush()
    return call


async def list_calls(
    session: AsyncSession, *, workspace_id: int, contact_id: int | None = None, limit: int = 50
) -> list[Call]:
    stmt = select(Call).where(Call.workspace_id == workspace_id)
    if contact_id is not None:
        stmt = stmt.where(Call.contact_id == contact_id)
    return list(await session.scalars(stmt.order_by(Call.started_at.desc(), Call.id.desc()).limit(limit)))


# ---- conversations in the human queue ------------------------------------------------------
async def call_conversation(
    session: AsyncSession, *, inbox: Inbox, call: Call, team_id: int | None, reason: str
) -> Conversation:
    """The call's conversation in the phone inbox's human queue (routing assigns it), with a
    system line saying who calls and why; one per call."""
    if call.conversation_id is not None:
        conversation = await conversations.get(
            session, workspace_id=inbox.workspace_id, conversation_id=call.conversation_id
        )
    else:
        conversation = await conversations.create(
            session,
            workspace_id=inbox.workspace_id,
            inbox_id=inbox.id,
            contact_id=call.contact_id,
            language=call.language,
            actor_type="contact",
            actor_id=call.contact_id,
        )
        call.conversation_id = conversation.id
    if team_id is not None and conversation.team_id is None:
        conversation.team_id = team_id
    await session.flush()
    await create_message(
        session,
        conversation=conversation,
        content=reason,
        sender_type=SenderType.system,
        sender_id=None,
        kind=MessageKind.system,
        client_id=f"call:{call.call_sid}:{reason[:20]}"[:64],
        payload={
            "call": {
                "call_sid": call.call_sid,
                "from": call.from_number,
                "from_display": numbers.display(call.from_number),
                "id": call.id,
            }
        },
        hints={"channel_type": PHONE, "bot_enabled": False},
    )
    return conversation


async def store_voicemail(
    session: AsyncSession,
    *,
    inbox: Inbox,
    call: Call,
    url: str,
    duration_s: int,
    team_id: int | None,
    content: str,
) -> Conversation:
    """A voicemail: the caller's message (recording link and length) on a conversation in the
    human queue, tagged `voicemail` (the shared voicemail box is that filter)."""
    conversation = await call_conversation(session, inbox=inbox, call=call, team_id=team_id, reason=content)
    await conversations.add_tags(
        session,
        workspace_id=inbox.workspace_id,
        conversation_id=conversation.id,
        tags=["voicemail"],
        actor_type="system",
    )
    await create_message(
        session,
        conversation=conversation,
        content=content,
        sender_type=SenderType.contact,
        sender_id=call.contact_id,
        kind=MessageKind.text,
        client_id=f"voicemail:{call.call_sid}"[:64],
        payload={"voicemail": {"url": url[:2000], "duration_s": duration_s, "call_sid": call.call_sid}},
        hints={"channel_type": PHONE, "bot_enabled": False},
    )
    set_outcome(call, "voicemail", replace=True)
    await session.flush()
    return conversation
