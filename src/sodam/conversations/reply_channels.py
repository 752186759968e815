"""One timeline: an agent answers on the channel the customer used last, or picks another
channel the contact has. The choice is stored with the message (`payload.via`) and the
channel's own reaction delivers it (e-mail relay, API callback, KakaoTalk dealer) as a job,
so the reply path stays one insert.

Channels that refuse some sends (KakaoTalk: only inside an open session) register a guard
here; the reply path calls it before storing, so a reply the channel would refuse is refused
at once with the channel's own error. The conversation domain never imports the channel."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.channels.models import ChannelType, Inbox
from sodam.contacts.models import Contact
from sodam.conversations.models import Conversation, Message, SenderType
from sodam.core.errors import Invalid

# adapter or channel name -> guard(session, conversation=, inbox=, content=, attachment_ids=)
Guard = Callable[..., Awaitable[None]]
SEND_GUARDS: dict[str, Guard] = {}


def register_guard(channel: str, guard: Guard) -> None:
    SEND_GUARDS[channel] = guard


@dataclass(frozen=True)
class ReplyChannel:
    inbox_id: int
    channel: str  # web_widget | email | api | kakao
    name: str

    def wire(self) -> dict[str, Any]:
        return {"inbox_id": self.inbox_id, "channel": self.channel, "name": self.name}


def channel_name(inbox: Inbox) -> str:
    """The channel an inbox speaks: its type, or its adapter for an API inbox (kakao)."""
    adapter = (inbox.settings or {}).get("adapter")
    return str(adapter) if inbox.channel_type == ChannelType.api and adapter else inbox.channel_type.value


async def options(
    session: AsyncSession, *, conversation: Conversation, contact: Contact
) -> tuple[list[ReplyChannel], int]:
    """The channels an agent may answer this conversation on, and the default: the inbox the
    customer wrote from last (in any conversation) when it is one of them. The widget is
    offered only in its own conversation (a visitor sees only that inbox's conversations);
    e-mail whenever the contact has an address; API and KakaoTalk inboxes the contact wrote in."""
    ws = conversation.workspace_id
    used = set(
        await session.scalars(
            select(Conversation.inbox_id).where(
                Conversation.workspace_id == ws, Conversation.contact_id == contact.id
            )
        )
    )
    rows = list(await session.scalars(select(Inbox).where(Inbox.workspace_id == ws).order_by(Inbox.id)))
    out: list[ReplyChannel] = []
    for inbox in rows:
        channel = channel_name(inbox)
        if inbox.id == conversation.inbox_id:
            offered = True
        elif inbox.channel_type == ChannelType.email:
            offered = bool(contact.email)
        elif inbox.channel_type == ChannelType.api:
            offered = inbox.id in used
        else:
            offered = False
        if offered:
            out.append(ReplyChannel(inbox.id, channel, inbox.name))
    last = await session.scalar(
        select(Message.inbox_id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Conversation.workspace_id == ws,
            Conversation.contact_id == contact.id,
            Message.sender_type == SenderType.contact,
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
    )
    ids = {o.inbox_id for o in out}
    return out, last if last in ids else conversation.inbox_id


async def resolve(
    session: AsyncSession, *, conversation: Conversation, contact: Contact, via_inbox_id: int | None
) -> tuple[Inbox, str] | None:
    """The inbox and channel a reply goes out on (None: the conversation's own, unchanged);
    422 `channel_not_available` for an inbox that is not one of the contact's channels."""
    if via_inbox_id is None or via_inbox_id == conversation.inbox_id:
        return None
    offered, _default = await options(session, conversation=conversation, contact=contact)
    if via_inbox_id not in {o.inbox_id for o in offered}:
        raise Invalid(
            "the contact cannot be reached on this inbox",
            code="channel_not_available",
            details={"inbox_id": via_inbox_id, "available": [o.wire() for o in offered]},
        )
    inbox = await session.get(Inbox, via_inbox_id)
    return inbox, channel_name(inbox)
