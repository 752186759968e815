"""Unread dots: a conversation is unread for an agent until that agent has seen its latest
customer message (by opening it, replying, or reading it live)."""

from __future__ import annotations

import re

import pytest

from sodam.conversations import service as conversations
from sodam.conversations.models import SenderType
from sodam.db.session import session_scope
from tests.test_console_helpers import add_agent, console_client, csrf_of, post, seed_conversation


def unread_rows(html: str) -> set[int]:
    return {int(m) for m in re.findall(r'class="conv-row unread"\s+data-conversation-id="(\d+)"', html)}


async def customer_says(ws, conversation_id: int, contact_id: int, text: str) -> int:
    async with session_scope() as session:
        conv = await conversations.get(session, workspace_id=ws.workspace_id, conversation_id=conversation_id)
        message, _ = await conversations.create_message(
            session, conversation=conv, content=text, sender_type=SenderType.contact, sender_id=contact_id
        )
        return message.seq


@pytest.fixture
async def admin(live_server, make_workspace):
    ws = await make_workspace()
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    yield ws, client
    await client.aclose()


async def test_opening_replying_and_reading_live_clear_the_dot(admin, live_server):
    ws, client = admin
    first, first_contact = await seed_conversation(ws, text="주문 취소하고 싶어요", name="김하나")
    second, _ = await seed_conversation(ws, text="영수증 부탁드려요", name="이둘")
    listing = (await client.get("/console/conversations?view=all&status=open")).text
    assert unread_rows(listing) == {first, second}

    assert (await client.get(f"/console/conversations/{first}")).status_code == 200
    assert unread_rows((await client.get("/console/conversations?view=all")).text) == {second}

    # A new customer message makes it unread again; the agent's own reply or a note does not.
    seq = await customer_says(ws, first, first_contact, "혹시 확인되셨나요?")
    assert first in unread_rows((await client.get("/console/conversations?view=all")).text)
    r = await post(client, f"/console/conversations/{first}/read", {"seq": str(seq)})
    assert r.status_code == 204
    assert unread_rows((await client.get("/console/conversations?view=all")).text) == {second}

    r = await client.post(
        f"/console/conversations/{second}/messages",
        data={"content": "보내 드렸습니다"},
        headers={"X-CSRF-Token": csrf_of(client), "Accept": "application/json"},
    )
    assert r.status_code == 201
    assert unread_rows((await client.get("/console/conversations?view=all")).text) == set()

    # Read marks never go backwards, and each agent has their own.
    assert (await post(client, f"/console/conversations/{first}/read", {"seq": "0"})).status_code == 204
    assert unread_rows((await client.get("/console/conversations?view=all")).text) == set()
    _id, email, password = await add_agent(ws)
    colleague = await console_client(live_server, email, password)
    assert unread_rows((await colleague.get("/console/conversations?view=all")).text) == {first, second}
    await colleague.aclose()


async def test_read_marks_are_checked_and_scoped(admin, make_workspace):
    ws, client = admin
    conv, _ = await seed_conversation(ws)
    assert (
        await client.post(f"/console/conversations/{conv}/read", data={"seq": "1"})
    ).status_code == 403  # no CSRF
    assert (await post(client, f"/console/conversations/{conv}/read", {"seq": "-1"})).status_code == 422
    other = await make_workspace()
    theirs, _ = await seed_conversation(other)
    assert (await post(client, f"/console/conversations/{theirs}/read", {"seq": "1"})).status_code == 404
