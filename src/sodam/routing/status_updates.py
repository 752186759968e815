"""Keep them updated: a customer whose question has waited on the team longer than the
inbox's `status_update_minutes` (default 30; 0 turns it off) gets one personal status update
per wait — their name, who is on it or their place in the queue with the expected wait, or
when the team opens — so nobody has to ask "아직인가요?". One per customer turn: the update
is the conversation's last public message, so the next comes only after the customer writes
again and waits again. Chat and API inboxes by default; e-mail and phone inboxes only when their settings
ask (an e-mail every half hour is not what a mail customer expects; a caller hears nothing)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.channels.models import Inbox
from sodam.contacts.models import Contact
from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation, MessageKind, SenderType
from sodam.core.i18n import gettext
from sodam.routing.autoreply import first_name, language_of, where_it_stands

DEFAULT_MINUTES = 30
# A silence older than this is no longer a pending question to report on.
LOOKBACK = timedelta(hours=24)
BATCH = 200

# The conversation's last public message that counts (the bot's own words don't; an earlier
# status update does): the customer's, and not a robot's mail, means the question still waits.
_STILL_WAITING = """
    (SELECT m.sender_type = 'contact' AND NOT coalesce((m.payload->>'no_reply')::boolean, false)
       FROM messages m
      WHERE m.conversation_id = {conversation} AND m.kind <> 'note'
        AND (m.sender_type <> 'bot' OR m.payload ? 'status_update')
      ORDER BY m.seq DESC LIMIT 1)
"""

# Open conversations with a person's work pending, whose last public message is the
# customer's (not a robot's mail) and older than the inbox's threshold. The bot's own words
# (the first auto-reply, a handoff) are not an answer; an earlier status update is.
_DUE = text(
    f"""
    WITH inbox_minutes AS (
        SELECT id, channel_type,
               CASE WHEN settings->>'status_update_minutes' ~ '^[0-9]{{1,5}}$'
                    THEN (settings->>'status_update_minutes')::int
                    WHEN channel_type::text IN ('email', 'phone') THEN 0
                    ELSE :default_minutes END AS minutes
          FROM inboxes
         WHERE coalesce(settings->>'auto_reply', 'true') <> 'false'
    )
    SELECT c.id
      FROM conversations c
      JOIN inbox_minutes i ON i.id = c.inbox_id AND i.minutes > 0
     WHERE c.status = 'open' AND NOT c.bot_handling
       AND c.last_message_at < :now - make_interval(mins => i.minutes)
       AND c.last_message_at > :now - make_interval(secs => :lookback_s)
       AND {_STILL_WAITING.format(conversation="c.id")}
     ORDER BY c.last_message_at
     LIMIT :batch
    """
)


async def due(session: AsyncSession, *, now: datetime) -> list[int]:
    rows = await session.execute(
        _DUE,
        {
            "now": now,
            "default_minutes": DEFAULT_MINUTES,
            "lookback_s": LOOKBACK.total_seconds(),
            "batch": BATCH,
        },
    )
    return [r.id for r in rows]


async def send(session: AsyncSession, *, conversation_id: int, now: datetime) -> bool:
    """The status update for one conversation, if it is still due (checked under its row lock)."""
    conversation = await session.get(
        Conversation, conversation_id, with_for_update=True, populate_existing=True
    )
    if conversation is None or conversation.status.value != "open" or conversation.bot_handling:
        return False
    waiting = await session.scalar(
        text("SELECT " + _STILL_WAITING.format(conversation=":c")), {"c": conversation.id}
    )
    if not waiting:
        return False  # someone answered meanwhile
    inbox = await session.get(Inbox, conversation.inbox_id)
    contact = await session.get(Contact, conversation.contact_id)
    lang = language_of(conversation, contact)
    name = first_name(contact)
    opening = (
        gettext(lang, "routing.status.waiting_name", name=name)
        if name
        else gettext(lang, "routing.status.waiting")
    )
    where = await where_it_stands(
        session, conversation=conversation, inbox=inbox, agent_id=conversation.assignee_id, now=now, lang=lang
    )
    await conversations.create_message(
        session,
        conversation=conversation,
        content=f"{opening} {where}",
        sender_type=SenderType.bot,
        sender_id=None,
        kind=MessageKind.bot,
        payload={"status_update": True},
    )
    return True
