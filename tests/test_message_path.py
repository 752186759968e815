"""The message path end to end over real sockets: store once, fan out after commit, no loss."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import websockets

from tests.frames import bearer, next_frame, widget_socket_url


async def visitor(server, inbox_token: str) -> str:
    async with httpx.AsyncClient(base_url=server.url) as client:
        r = await client.post(f"/widget/v1/{inbox_token}/session", json={"locale": "ko"})
        assert r.status_code == 200, r.text
        return r.json()["visitor_token"]


async def recv_until(ws, predicate, wait_s=5.0):
    async with asyncio.timeout(wait_s):
        while True:
            frame = await next_frame(ws)
            if predicate(frame):
                return frame


async def test_widget_message_reaches_agent_socket(live_server, make_workspace):
    ws = await make_workspace()
    token = await visitor(live_server, ws.inbox_token)
    agent_url = f"{live_server.ws_url}/api/v1/realtime"
    widget_url = await widget_socket_url(live_server, ws.inbox_token, token)
    async with (
        websockets.connect(agent_url, **bearer(ws.api_token)) as agent,
        websockets.connect(widget_url) as widget,
    ):
        await recv_until(agent, lambda f: f["type"] == "hello")
        await recv_until(widget, lambda f: f["type"] == "hello")
        client_id = str(uuid.uuid4())
        await widget.send(
            json.dumps({"type": "message", "client_id": client_id, "content": "배송기간 얼마나 걸려요?"})
        )
        ack = await recv_until(widget, lambda f: f["type"] == "ack")
        assert ack["message"]["content"] == "배송기간 얼마나 걸려요?"
        got = await recv_until(agent, lambda f: f["type"] == "message")
        assert got["message"]["id"] == ack["message"]["id"]
        assert got["message"]["client_id"] == client_id


async def test_retry_with_same_client_id_is_stored_once(live_server, make_workspace):
    ws = await make_workspace()
    token = await visitor(live_server, ws.inbox_token)
    client_id = str(uuid.uuid4())
    async with httpx.AsyncClient(base_url=live_server.url, headers={"X-Sodam-Visitor": token}) as client:
        first = await client.post(
            f"/widget/v1/{ws.inbox_token}/messages", json={"content": "환불해주세여", "client_id": client_id}
        )
        # Concurrent retries as a flaky network would send them.
        retries = await asyncio.gather(
            *[
                client.post(
                    f"/widget/v1/{ws.inbox_token}/messages",
                    json={"content": "환불해주세여", "client_id": client_id},
                )
                for _ in range(5)
            ]
        )
        history = await client.get(f"/widget/v1/{ws.inbox_token}/messages")
    assert first.status_code == 201
    assert {r.status_code for r in retries} == {200}
    assert {r.json()["id"] for r in retries} == {first.json()["id"]}
    assert [m["content"] for m in history.json()["messages"]] == ["환불해주세여"]
