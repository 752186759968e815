"""Over real sockets and HTTP: typing both ways (socket only, nothing stored), the visitor's
"읽음" after an agent views the conversation, assignment frames that say who assigned,
@mentions in private notes, and the notification settings."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import websockets
from sqlalchemy import text

from sodam.db.session import session_scope
from sodam.notifications import service as notifications
from tests.frames import next_frame, widget_socket_url
from tests.test_console_helpers import add_agent, console_client, csrf_of, post


async def recv_until(ws, predicate, wait_s=8.0):
    async with asyncio.timeout(wait_s):
        while True:
            frame = await next_frame(ws)
            if predicate(frame):
                return frame


async def _no_frame(ws, predicate, wait_s=1.5) -> bool:
    try:
        await recv_until(ws, predicate, wait_s)
    except TimeoutError:
        return True
    return False


def typing_frame(conversation_id: int, on: bool) -> str:
    return json.dumps({"type": "typing", "conversation_id": conversation_id, "typing": on})


def cookie(client: httpx.AsyncClient) -> dict:
    return {"Cookie": f"sodam_session={client.cookies.get('sodam_session')}"}


async def _visitor(server, ws) -> tuple[str, int]:
    async with httpx.AsyncClient(base_url=server.url) as widget:
        token = (await widget.post(f"/widget/v1/{ws.inbox_token}/session", json={"locale": "ko"})).json()[
            "visitor_token"
        ]
        sent = await widget.post(
            f"/widget/v1/{ws.inbox_token}/messages",
            json={"content": "환불 문의드려요", "client_id": str(uuid.uuid4())},
            headers={"X-Sodam-Visitor": token},
        )
        assert sent.status_code == 201
        return token, sent.json()["conversation_id"]


async def _stored(conversation_id: int) -> tuple:
    """What a write for this conversation would change: its rows and its timestamps."""
    async with session_scope() as session:
        return tuple(
            (
                await session.execute(
                    text(
                        "SELECT (SELECT count(*) FROM messages WHERE conversation_id = :c),"
                        " (SELECT count(*) FROM conversation_events WHERE conversation_id = :c),"
                        " (SELECT count(*) FROM conversation_reads WHERE conversation_id = :c),"
                        " updated_at, last_seq FROM conversations WHERE id = :c"
                    ),
                    {"c": conversation_id},
                )
            ).one()
        )


async def test_typing_both_ways_and_read_state(live_server, make_workspace):
    ws = await make_workspace()
    token, conv = await _visitor(live_server, ws)
    agent = await console_client(live_server, ws.agent_email, ws.agent_password)
    url = await widget_socket_url(live_server, ws.inbox_token, token)
    async with (
        websockets.connect(
            f"{live_server.ws_url}/api/v1/realtime", additional_headers=cookie(agent), origin=live_server.url
        ) as console_sock,
        websockets.connect(url, origin=live_server.url) as visitor_sock,
    ):
        await recv_until(console_sock, lambda f: f["type"] == "hello")
        hello = await recv_until(visitor_sock, lambda f: f["type"] == "hello")
        assert hello["read_seq"] == 0  # no agent has looked yet
        before = await _stored(conv)
        # Visitor → console.
        await visitor_sock.send(typing_frame(conv, True))
        frame = await recv_until(console_sock, lambda f: f["type"] == "typing")
        assert frame == {
            "type": "typing",
            "conversation_id": conv,
            "sender_type": "contact",
            "agent_id": None,
            "typing": True,
        }
        await visitor_sock.send(typing_frame(conv, False))
        frame = await recv_until(console_sock, lambda f: f["type"] == "typing")
        assert frame["typing"] is False
        # Another visitor's conversation id is not theirs to type in.
        await visitor_sock.send(typing_frame(conv + 999, True))
        assert await _no_frame(console_sock, lambda f: f["type"] == "typing")
        # Console → visitor (without the agent's identity).
        await console_sock.send(typing_frame(conv, True))
        frame = await recv_until(visitor_sock, lambda f: f["type"] == "typing")
        assert frame == {"type": "typing", "conversation_id": conv, "typing": True}
        # Repeats inside a second are dropped (the browsers throttle too).
        await console_sock.send(typing_frame(conv, True))
        assert await _no_frame(visitor_sock, lambda f: f["type"] == "typing", 0.8)
        await asyncio.sleep(0.5)
        assert await _stored(conv) == before  # typing wrote nothing
        # The agent opens the conversation: one read marker, and the visitor hears "읽음".
        page = await agent.get(f"/console/conversations/{conv}")
        assert page.status_code == 200
        frame = await recv_until(visitor_sock, lambda f: f["type"] == "read")
        assert frame == {"type": "read", "conversation_id": conv, "seq": 1}
    async with httpx.AsyncClient(base_url=live_server.url) as widget:
        history = await widget.get(
            f"/widget/v1/{ws.inbox_token}/messages", headers={"X-Sodam-Visitor": token}
        )
        assert history.json()["read_seq"] == 1
    await agent.aclose()


async def test_assignment_frames_name_who_assigned_and_mentions_are_stored(live_server, make_workspace):
    ws = await make_workspace()
    _token, conv = await _visitor(live_server, ws)
    other_id, other_email, other_password = await add_agent(ws)
    admin = await console_client(live_server, ws.agent_email, ws.agent_password)
    other = await console_client(live_server, other_email, other_password)
    async with websockets.connect(
        f"{live_server.ws_url}/api/v1/realtime", additional_headers=cookie(other), origin=live_server.url
    ) as sock:
        await recv_until(sock, lambda f: f["type"] == "hello")
        r = await post(admin, f"/console/conversations/{conv}/assign", {"assignee": str(other_id)})
        assert r.status_code == 200
        frame = await recv_until(sock, lambda f: f["type"] == "conversation")
        assert frame["assigned"] is True and frame["actor_id"] == ws.agent_id
        assert frame["conversation"]["assignee_id"] == other_id
        # A status change is not an assignment.
        await post(admin, f"/console/conversations/{conv}/status", {"status": "pending"})
        frame = await recv_until(sock, lambda f: f["type"] == "conversation")
        assert "assigned" not in frame
        # "@이름님" in a private note names the other agent; the job stores it and says so.
        names = {other_id: "agent ko"}
        assert notifications.find_mentions("@agent ko님 확인 부탁드려요", names) == [other_id]
        r = await admin.post(
            f"/console/conversations/{conv}/messages",
            data={"content": "@agent ko 환불 규정 봐 주세요", "private": "1", "csrf_token": csrf_of(admin)},
            headers={"Accept": "application/json"},
        )
        assert r.status_code == 201, r.text
        note_id = r.json()["id"]
        frame = await recv_until(sock, lambda f: f["type"] == "mention", 15)
        assert frame == {
            "type": "mention",
            "conversation_id": conv,
            "message_id": note_id,
            "agent_ids": [other_id],
            "by": ws.agent_id,
        }
    async with session_scope() as session:
        (mention,) = await notifications.mentions_of(session, workspace_id=ws.workspace_id, agent_id=other_id)
        assert mention.message_id == note_id and mention.mentioned_by == ws.agent_id
    state = (await other.get("/console/notifications/state", headers={"Accept": "application/json"})).json()
    assert state["agent_id"] == other_id and conv in state["mine"] and conv in state["unread"]
    await admin.aclose()
    await other.aclose()


def test_mentions_take_the_longest_name_and_respect_word_ends():
    names = {1: "김민", 2: "김민지", 3: "Ann", 4: "Anna Lee"}
    assert notifications.find_mentions("@김민지님 봐 주세요", names) == [2]
    assert notifications.find_mentions("@김민 님과 @Ann, 그리고 @anna lee", names) == [1, 3, 4]
    assert notifications.find_mentions("@Annabel 아님, 메일 ann@example.com", names) == []
    assert notifications.find_mentions("@@김민지", names) == [2]


async def test_settings_are_per_agent_and_default_on(live_server, make_workspace):
    ws = await make_workspace()
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    page = await client.get("/console/notifications")
    assert page.status_code == 200 and 'id="notify-sound" checked' in page.text
    r = await client.post(
        "/console/notifications",
        data={"csrf_token": csrf_of(client), "desktop": "1", "assigned": "1", "mention": "1"},
    )
    assert r.status_code == 303
    state = (await client.get("/console/notifications/state")).json()
    assert state["settings"] == {
        "sound": False,
        "desktop": True,
        "assigned": True,
        "reply": False,
        "mention": True,
        "sla": False,  # unticked: SLA breach notices (매니저) off
    }
    # Without the CSRF token nothing changes.
    r = await client.post("/console/notifications", data={"sound": "1"})
    assert r.status_code == 403
    await client.aclose()
    # Another agent keeps the defaults.
    _id, email, password = await add_agent(ws)
    other = await console_client(live_server, email, password)
    assert all((await other.get("/console/notifications/state")).json()["settings"].values())
    await other.aclose()
