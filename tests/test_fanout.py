"""Two server processes, one database: a message accepted on one node reaches sockets on
the other (PostgreSQL LISTEN/NOTIFY), in both directions."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import websockets

from tests.frames import bearer, next_frame, widget_socket_url


async def recv_until(ws, predicate, wait_s=15.0):
    async with asyncio.timeout(wait_s):
        while True:
            frame = await next_frame(ws)
            if predicate(frame):
                return frame


async def test_messages_cross_between_two_server_processes(live_server, server_factory, make_workspace):
    node_a, node_b = live_server, server_factory()
    ws = await make_workspace()
    async with httpx.AsyncClient(base_url=node_a.url) as client:
        r = await client.post(f"/widget/v1/{ws.inbox_token}/session", json={"locale": "ko"})
        token = r.json()["visitor_token"]

    widget_url = await widget_socket_url(node_a, ws.inbox_token, token)
    agent_url = f"{node_b.ws_url}/api/v1/realtime"
    async with (
        websockets.connect(widget_url) as widget,
        websockets.connect(agent_url, **bearer(ws.api_token)) as agent,
    ):
        await recv_until(widget, lambda f: f["type"] == "hello")
        await recv_until(agent, lambda f: f["type"] == "hello")

        # Visitor on node A -> agent socket on node B.
        client_id = str(uuid.uuid4())
        await widget.send(
            json.dumps({"type": "message", "client_id": client_id, "content": "배송기간 얼마나 걸려요?"})
        )
        ack = await recv_until(widget, lambda f: f["type"] == "ack")
        seen_by_agent = await recv_until(
            agent, lambda f: f["type"] == "message" and f["message"]["client_id"] == client_id
        )
        assert seen_by_agent["message"]["id"] == ack["message"]["id"]
        assert seen_by_agent["message"]["content"] == "배송기간 얼마나 걸려요?"
        conversation_id = ack["message"]["conversation_id"]

        # Agent reply committed on node B (its REST API) -> widget socket on node A.
        reply = await post_agent_reply(node_b, ws, conversation_id, "보통 2~3일 걸립니다.")
        seen_by_visitor = await recv_until(
            widget, lambda f: f["type"] == "message" and f["message"]["sender_type"] == "agent"
        )
        assert seen_by_visitor["message"]["id"] == reply["id"]
        assert seen_by_visitor["message"]["content"] == "보통 2~3일 걸립니다."
        assert seen_by_visitor["conversation_id"] == conversation_id


async def post_agent_reply(node, ws, conversation_id: int, content: str) -> dict:
    """Reply through node's REST API when it has one; else through the service layer (which
    commits in this test process, so the NOTIFY still has to cross processes)."""
    async with httpx.AsyncClient(base_url=node.url, headers={"Authorization": f"Bearer {ws.api_token}"}) as c:
        r = await c.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            json={"content": content, "client_id": str(uuid.uuid4())},
        )
    if r.status_code in (200, 201):
        return r.json().get("message", r.json())
    assert r.status_code in (404, 405), r.text  # no such endpoint yet
    from sodam.conversations import service as conversations
    from sodam.conversations.models import SenderType
    from sodam.db.session import session_scope

    async with session_scope() as session:
        conversation = await conversations.get(
            session, workspace_id=ws.workspace_id, conversation_id=conversation_id
        )
        message, _ = await conversations.create_message(
            session,
            conversation=conversation,
            content=content,
            sender_type=SenderType.agent,
            sender_id=ws.agent_id,
        )
        return {"id": message.id}
