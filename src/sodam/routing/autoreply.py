"""The first auto-reply of a conversation that waits for a person (inboxes without the bot;
the bot says the same at its handoff): personal, never generic — the customer's name, who
will answer or their place in the queue and the expected wait, or when the team opens — in
the customer's language. Under-promise, over-deliver: the wait said is the estimate rounded
up; routing works to a tighter internal target (half the inbox's promised reply time)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts.models import Agent
from sodam.campaigns import announcements
from sodam.channels import hours
from sodam.channels.models import Inbox
from sodam.channels.promise import wait_promise, when_text
from sodam.contacts.models import Contact
from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation, Message, MessageKind, SenderType
from sodam.core.i18n import gettext, normalise
from sodam.routing import queue
from sodam.sla import clocks as sla_clocks


def language_of(conversation: Conversation, contact: Contact | None) -> str:
    route_lang = next(
        (
            s.split(":", 1)[1]
            for s in ((conversation.route or {}).get("skills") or {})
            if s.startswith("lang:")
        ),
        None,
    )
    return normalise(conversation.language or (contact.language if contact else None) or route_lang or "ko")


def wants_auto_reply(inbox: Inbox) -> bool:
    settings = inbox.settings or {}
    return not settings.get("bot_enabled") and settings.get("auto_reply", True)


async def text_for(
    session: AsyncSession, *, conversation: Conversation, inbox: Inbox, agent_id: int | None, now: datetime
) -> str:
    contact = await session.get(Contact, conversation.contact_id)
    lang = language_of(conversation, contact)
    name = first_name(contact)
    opening = (
        gettext(lang, "routing.auto.thanks_name", name=name) if name else gettext(lang, "routing.auto.thanks")
    )
    where = await where_it_stands(
        session, conversation=conversation, inbox=inbox, agent_id=agent_id, now=now, lang=lang
    )
    return f"{opening} {where}"


def first_name(contact: Contact | None) -> str:
    return ((contact.name or "").strip().split(" ")[0] if contact else "") or ""


async def _promised_minutes(session: AsyncSession, inbox: Inbox, now: datetime) -> int | None:
    """Without a routing estimate, the wait the widget's header and bar promise (the measured
    reply time, else the inbox's configured one): the customer hears one figure."""
    promise = await wait_promise(session, inbox, now)
    return promise.minutes if promise.open_now else None


async def where_it_stands(
    session: AsyncSession,
    *,
    conversation: Conversation,
    inbox: Inbox,
    agent_id: int | None,
    now: datetime,
    lang: str,
) -> str:
    """Who will answer or the place in the queue with the expected wait (and the SLA promise),
    or when the team opens: the part the first auto-reply and later status updates share."""
    configured = (inbox.settings or {}).get("business_hours")
    if configured and not hours.is_open(configured, now):
        opens = hours.next_opening(configured, now)
        if opens is not None:
            return gettext(lang, "routing.auto.closed", when=when_text(opens, now, lang))
    if agent_id is not None:
        agent = await session.scalar(select(Agent).where(Agent.id == agent_id))
        return gettext(lang, "routing.auto.assigned", agent=agent.public_name if agent else "")
    position = await conversations.queue_position(session, inbox_id=inbox.id, conversation_id=conversation.id)
    if position is None:
        text = gettext(lang, "routing.auto.soon")
    else:
        wait = await queue.estimated_wait(session, inbox=inbox, position=position)
        minutes = queue.minutes(wait) if wait is not None else await _promised_minutes(session, inbox, now)
        text = (
            gettext(lang, "routing.auto.position", position=position)
            if minutes is None
            else gettext(lang, "routing.auto.position_wait", position=position, minutes=minutes)
        )
    # The promise is the SLA policy's first-response time (routing works to half of it).
    promised = await sla_clocks.promised_first_response(session, conversation)
    if promised is not None and promised > now:
        text += " " + gettext(lang, "routing.auto.promise", when=when_text(promised, now, lang))
    return text


async def send_first_reply(
    session: AsyncSession, *, conversation: Conversation, inbox: Inbox, agent_id: int | None, now: datetime
) -> None:
    last_payload = await session.scalar(
        select(Message.payload)
        .where(Message.conversation_id == conversation.id, Message.sender_type == SenderType.contact)
        .order_by(Message.seq.desc())
        .limit(1)
    )
    if (last_payload or {}).get("no_reply"):
        return  # an auto-reply, a bounce, a list mail: never answered (mail/)
    content = await text_for(session, conversation=conversation, inbox=inbox, agent_id=agent_id, now=now)
    # A known incident (sodam.campaigns announcements) is said first, in the customer's language.
    contact = await session.get(Contact, conversation.contact_id)
    notice = await announcements.notice(
        session, workspace_id=conversation.workspace_id, language=language_of(conversation, contact)
    )
    if notice:
        content = f"{notice}\n\n{content}"
    await conversations.create_message(
        session,
        conversation=conversation,
        content=content,
        sender_type=SenderType.bot,
        sender_id=None,
        kind=MessageKind.bot,
        payload={"auto_reply": True},
    )
