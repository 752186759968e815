"""Idempotency is scoped to the sender: a client_id someone else used is a 409 that returns
nothing of the stored message (acceptance testing found visitors reading each other's
messages and agents' private notes this way)."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
import websockets

from tests.frames import next_frame


@pytest.fixture
async def client(live_server):
    async with httpx.AsyncClient(base_url=live_server.url, timeout=15) as c:
        yield c


async def new_visitor(client, inbox_token: str) -> str:
    r = await client.post(f"/widget/v1/{inbox_token}/session", json={"locale": "ko"})
    assert r.status_code == 200, r.text
    return r.json()["visitor_token"]


async def send(client, inbox_token: str, visitor: str, content: str, client_id: str) -> httpx.Response:
    return await client.post(
        f"/widget/v1/{inbox_token}/messages",
        json={"content": content, "client_id": client_id},
        headers={"X-Sodam-Visitor": visitor},
    )


async def history(client, inbox_token: str, visitor: str) -> list[str]:
    r = await client.get(f"/widget/v1/{inbox_token}/messages", headers={"X-Sodam-Visitor": visitor})
    assert r.status_code == 200, r.text
    return [m["content"] for m in r.json()["messages"]]


async def test_another_visitors_client_id_is_refused_without_its_content(client, make_workspace):
    ws = await make_workspace()
    alice, bob = await new_visitor(client, ws.inbox_token), await new_visitor(client, ws.inbox_token)
    shared = str(uuid.uuid4())
    first = await send(client, ws.inbox_token, alice, "제 주문번호는 A-1234입니다", shared)
    assert first.status_code == 201

    stolen = await send(client, ws.inbox_token, bob, "안녕하세요", shared)
    assert stolen.status_code == 409
    assert stolen.json()["error"]["code"] == "client_id_conflict"
    assert "A-1234" not in stolen.text
    # Alice's own retry is still idempotent; Bob's conversation holds nothing of hers.
    retry = await send(client, ws.inbox_token, alice, "제 주문번호는 A-1234입니다", shared)
    assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"]
    assert await history(client, ws.inbox_token, bob) == []
    # Bob sends again with a fresh id and it is stored.
    assert (await send(client, ws.inbox_token, bob, "안녕하세요", str(uuid.uuid4()))).status_code == 201
    assert await history(client, ws.inbox_token, bob) == ["안녕하세요"]


async def test_a_private_notes_client_id_is_refused_to_a_visitor_on_http_and_socket(
    live_server, client, make_workspace
):
    ws = await make_workspace()
    alice = await new_visitor(client, ws.inbox_token)
    opened = await send(client, ws.inbox_token, alice, "환불 문의드려요", str(uuid.uuid4()))
    conversation_id = opened.json()["conversation_id"]
    note_id = "note-" + uuid.uuid4().hex
    note = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"content": "VIP 고객, 비밀 메모", "private": True, "client_id": note_id},
        headers={"Authorization": f"Bearer {ws.api_token}"},
    )
    assert note.status_code == 201, note.text

    mallory = await new_visitor(client, ws.inbox_token)
    over_http = await send(client, ws.inbox_token, mallory, "hi", note_id)
    assert over_http.status_code == 409
    assert "비밀" not in over_http.text

    ticket = await client.post(
        f"/widget/v1/{ws.inbox_token}/socket-ticket", headers={"X-Sodam-Visitor": mallory}
    )
    assert ticket.status_code == 200, ticket.text
    url = f"{live_server.ws_url}/widget/v1/{ws.inbox_token}/ws?ticket={ticket.json()['ticket']}"
    async with websockets.connect(url) as sock:
        assert (await next_frame(sock))["type"] == "hello"
        await sock.send(json.dumps({"type": "message", "client_id": note_id, "content": "hi"}))
        frame = await next_frame(sock)
    assert frame["type"] == "error" and frame["error"]["code"] == "client_id_conflict"
    assert "비밀" not in json.dumps(frame, ensure_ascii=False)
    assert await history(client, ws.inbox_token, mallory) == []


async def test_an_agent_cannot_reuse_a_visitors_client_id_through_the_api(client, make_workspace):
    ws = await make_workspace()
    alice = await new_visitor(client, ws.inbox_token)
    shared = str(uuid.uuid4())
    sent = await send(client, ws.inbox_token, alice, "카드번호 끝자리 4321", shared)
    reply = await client.post(
        f"/api/v1/conversations/{sent.json()['conversation_id']}/messages",
        json={"content": "확인했습니다", "client_id": shared},
        headers={"Authorization": f"Bearer {ws.api_token}"},
    )
    assert reply.status_code == 409
    assert reply.json()["error"]["code"] == "client_id_conflict"
    assert "4321" not in reply.text
