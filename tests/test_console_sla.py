"""First-reply SLA badges in the console list: green while there is time, amber from three
quarters of the target, red once it has passed; an agent's reply stops the clock and a
bot reply does not."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from sodam.channels import service as inboxes
from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation, Message, MessageKind, SenderType
from sodam.db.session import session_scope
from tests.test_console_helpers import console_client, post, seed_conversation


def badges(html: str) -> dict[int, str]:
    rows = re.findall(r'data-conversation-id="(\d+)"[^>]*>(.*?)</a>', html, flags=re.S)
    out = {}
    for conversation_id, body in rows:
        found = re.search(r'data-sla-state="(\w+)"', body)
        if found:
            out[int(conversation_id)] = found.group(1)
    return out


async def age(conversation_id: int, minutes: int) -> None:
    """Pretend the conversation (and its messages) started `minutes` ago."""
    then = datetime.now(UTC) - timedelta(minutes=minutes)
    async with session_scope() as session:
        await session.execute(
            update(Message).where(Message.conversation_id == conversation_id).values(created_at=then)
        )
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(created_at=then, queued_at=then)
        )


@pytest.fixture
async def admin(live_server, make_workspace):
    ws = await make_workspace()
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    yield ws, client
    await client.aclose()


async def test_badges_follow_the_inbox_target(admin):
    ws, client = admin
    fresh, _ = await seed_conversation(ws, name="방금 온 고객")
    close, _ = await seed_conversation(ws, name="곧 초과")
    late, _ = await seed_conversation(ws, name="초과된 고객")
    await age(close, 13)
    await age(late, 30)
    listing = (await client.get("/console/conversations?view=all")).text
    assert badges(listing) == {}  # no target set: no badges

    r = await post(
        client,
        f"/console/settings/inboxes/{ws.inbox_id}",
        {"name": "웹 채팅", "color": "#3b5bdb", "sla_first_reply_minutes": "15"},
    )
    assert r.status_code == 200
    listing = (await client.get("/console/conversations?view=all")).text
    assert badges(listing) == {fresh: "ok", close: "warn", late: "breached"}
    assert "초과" in listing and 'data-sla-due="' in listing

    # A bot reply does not stop the clock; an agent's reply does; a note does not.
    async with session_scope() as session:
        conv = await conversations.get(session, workspace_id=ws.workspace_id, conversation_id=late)
        await conversations.create_message(
            session, conversation=conv, content="봇 답변입니다", sender_type=SenderType.bot, sender_id=None
        )
        await conversations.create_message(
            session,
            conversation=conv,
            content="내부 메모",
            sender_type=SenderType.agent,
            sender_id=ws.agent_id,
            kind=MessageKind.note,
        )
    assert badges((await client.get("/console/conversations?view=all")).text)[late] == "breached"
    async with session_scope() as session:
        conv = await conversations.get(session, workspace_id=ws.workspace_id, conversation_id=late)
        await conversations.create_message(
            session,
            conversation=conv,
            content="늦어서 죄송합니다",
            sender_type=SenderType.agent,
            sender_id=ws.agent_id,
        )
    assert late not in badges((await client.get("/console/conversations?view=all")).text)

    # Invalid targets are refused, and the saved one is kept.
    r = await post(
        client,
        f"/console/settings/inboxes/{ws.inbox_id}",
        {"name": "웹 채팅", "color": "#3b5bdb", "sla_first_reply_minutes": "-5"},
    )
    assert r.status_code == 422
    async with session_scope() as session:
        inbox = await inboxes.get(session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id)
        assert inbox.settings["sla_first_reply_s"] == 15 * 60
