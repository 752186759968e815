"""Keep them updated, on request: "진행 상황 알려주세요" / "any update?" typed in the widget, or
its 진행 상황 button, answered at once without an agent from the conversation's state — bot
handling it, waiting in the queue (place and expected wait, or when the team opens), with an
agent (their public name, the SLA's due time), answered, waiting on the customer, snoozed
(보류, until when), resolved, or nothing open. The queue's wording is the first auto-reply's
and the status updates' (`where_it_stands`), so the customer hears one story.

The typed question goes through the message path like any message (stored, seen by agents;
the widget marks it `status_request` and the bot's job is not deferred for it); the
`routing.status_reply` job answers it as a bot message with `payload.status_reply`, which the
bot's and the status updates' reads look past. The button only reads (GET /widget/v1/…/status).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts.models import Agent
from sodam.channels.models import Inbox
from sodam.channels.promise import when_text
from sodam.contacts.models import Contact
from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation, Message, MessageKind, SenderType, Status
from sodam.core.i18n import gettext
from sodam.routing.autoreply import first_name, language_of, where_it_stands

STATES = ("none", "resolved", "snoozed", "pending", "bot", "answered", "assigned", "queued")


def _local(inbox: Inbox, at: datetime) -> datetime:
    zone = ((inbox.settings or {}).get("business_hours") or {}).get("timezone") or "Asia/Seoul"
    try:
        return at.astimezone(ZoneInfo(zone))
    except (KeyError, ValueError):
        return at.astimezone(ZoneInfo("Asia/Seoul"))


async def _last_public(session: AsyncSession, conversation: Conversation) -> Message | None:
    """The last message that says who spoke last: the customer's or an agent's (the bot's own
    words and the customer's status questions don't count)."""
    return await session.scalar(
        select(Message)
        .where(
            Message.conversation_id == conversation.id,
            Message.kind != MessageKind.note,
            Message.sender_type.in_([SenderType.contact, SenderType.agent]),
            func.coalesce(Message.payload.has_key("status_request"), False).is_(False),
        )
        .order_by(Message.seq.desc())
        .limit(1)
    )


async def describe(
    session: AsyncSession,
    *,
    conversation: Conversation | None,
    inbox: Inbox,
    contact: Contact | None,
    now: datetime,
    lang: str | None = None,
) -> tuple[str, str]:
    """(state, the reply in the customer's language) for this conversation (None: nothing open)."""
    if conversation is None:
        lang = lang or (contact.language if contact and contact.language else "ko")
        return "none", gettext(lang, "routing.ask.none")
    lang = lang or language_of(conversation, contact)
    status = conversation.status
    if status == Status.resolved:
        return "resolved", gettext(lang, "routing.ask.resolved")
    if status == Status.snoozed:
        if conversation.snoozed_until and conversation.snoozed_until > now:
            when = when_text(_local(inbox, conversation.snoozed_until), now, lang)
            return "snoozed", gettext(lang, "routing.ask.snoozed_until", when=when)
        return "snoozed", gettext(lang, "routing.ask.snoozed")
    if status == Status.pending:
        return "pending", gettext(lang, "routing.ask.pending")
    if conversation.bot_handling:
        return "bot", gettext(lang, "routing.ask.bot")
    last = await _last_public(session, conversation)
    if last is not None and last.sender_type == SenderType.agent:
        agent = await session.get(Agent, last.sender_id) if last.sender_id else None
        name = agent.public_name if agent else ""
        return "answered", gettext(lang, "routing.ask.answered", agent=name)
    name = first_name(contact)
    opening = (
        gettext(lang, "routing.status.waiting_name", name=name)
        if name
        else gettext(lang, "routing.status.waiting")
    )
    where = await where_it_stands(
        session, conversation=conversation, inbox=inbox, agent_id=conversation.assignee_id, now=now, lang=lang
    )
    if conversation.assignee_id is None:
        return "queued", f"{opening} {where}"
    due = conversation.next_response_due_at or conversation.first_response_due_at
    if due is not None and due > now:
        where += " " + gettext(lang, "routing.auto.promise", when=when_text(_local(inbox, due), now, lang))
    return "assigned", f"{opening} {where}"


async def current(
    session: AsyncSession, *, inbox: Inbox, contact_id: int, now: datetime, lang: str | None = None
) -> tuple[Conversation | None, str, str]:
    """The visitor's latest conversation in this inbox and its (state, reply): the button's read."""
    conversation = await conversations.latest_for_contact(
        session, workspace_id=inbox.workspace_id, inbox_id=inbox.id, contact_id=contact_id
    )
    contact = await session.get(Contact, contact_id)
    state, reply = await describe(
        session, conversation=conversation, inbox=inbox, contact=contact, now=now, lang=lang
    )
    return conversation, state, reply


async def answer(session: AsyncSession, *, message_id: int, now: datetime) -> str:
    """The job: answer one typed status question in its conversation (once, under its row lock)."""
    message = await session.get(Message, message_id)
    if message is None or not (message.payload or {}).get("status_request"):
        return "ignored"
    conversation = await session.get(
        Conversation, message.conversation_id, with_for_update=True, populate_existing=True
    )
    if conversation is None:
        return "ignored"
    done = await session.scalar(
        select(func.count()).where(
            Message.conversation_id == conversation.id,
            Message.sender_type == SenderType.bot,
            Message.payload["status_reply_to"].astext == str(message.id),
        )
    )
    if done:
        return "already_answered"
    inbox = await session.get(Inbox, conversation.inbox_id)
    contact = await session.get(Contact, conversation.contact_id)
    subject: Conversation | None = conversation
    if await _last_public(session, conversation) is None:
        # The question opened this conversation (the last one was resolved): it asks about that
        # one, or about nothing.
        subject = await session.scalar(
            select(Conversation)
            .where(
                Conversation.workspace_id == conversation.workspace_id,
                Conversation.inbox_id == conversation.inbox_id,
                Conversation.contact_id == conversation.contact_id,
                Conversation.id < conversation.id,
            )
            .order_by(Conversation.id.desc())
            .limit(1)
        )
    lang = language_of(conversation, contact)
    state, reply = await describe(
        session, conversation=subject, inbox=inbox, contact=contact, now=now, lang=lang
    )
    await conversations.create_message(
        session,
        conversation=conversation,
        content=reply,
        sender_type=SenderType.bot,
        sender_id=None,
        kind=MessageKind.bot,
        payload={"status_reply": True, "state": state, "status_reply_to": message.id},
    )
    return state
