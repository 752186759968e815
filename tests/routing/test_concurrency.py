"""Two `sodam serve` processes (and this process) routing 50 conversations at once: no agent
over capacity, no conversation assigned twice."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import httpx
from sqlalchemy import func, select

from sodam.conversations.models import Conversation, ConversationEvent, Status
from sodam.db.session import session_scope
from sodam.routing import engine

AGENTS, CAPACITY, CUSTOMERS = 10, 3, 50


async def _send(client: httpx.AsyncClient, token: str, n: int) -> None:
    visitor = (await client.post(f"/widget/v1/{token}/session", json={"locale": "ko"})).json()
    r = await client.post(
        f"/widget/v1/{token}/messages",
        json={"content": f"문의 {n}번입니다", "client_id": str(uuid.uuid4())},
        headers={"X-Sodam-Visitor": visitor["visitor_token"]},
    )
    assert r.status_code in (200, 201), r.text


async def _state(workspace_id: int):
    async with session_scope() as session:
        loads = Counter(
            dict(
                (
                    await session.execute(
                        select(Conversation.assignee_id, func.count())
                        .where(
                            Conversation.workspace_id == workspace_id,
                            Conversation.status == Status.open,
                            Conversation.assignee_id.is_not(None),
                        )
                        .group_by(Conversation.assignee_id)
                    )
                ).all()
            )
        )
        events = list(
            await session.scalars(
                select(ConversationEvent).where(
                    ConversationEvent.workspace_id == workspace_id,
                    ConversationEvent.type == "conversation.assigned",
                )
            )
        )
    return loads, events


async def test_two_processes_route_fifty_conversations_at_once(floor, server_factory):
    f = await floor()
    for i in range(AGENTS):
        await f.agent(f"상담원{i}", capacity={"default": CAPACITY})
    servers = [server_factory(), server_factory()]
    clients = [httpx.AsyncClient(base_url=s.url, timeout=20) for s in servers]

    async def route_here():
        async with session_scope() as session:
            await engine.dispatch(session, workspace_id=f.ws.workspace_id)
            await session.commit()

    try:
        sends = [_send(clients[n % 2], f.ws.inbox_token, n) for n in range(CUSTOMERS)]
        await asyncio.gather(*sends, *(route_here() for _ in range(5)))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            loads, events = await _state(f.ws.workspace_id)
            if sum(loads.values()) == AGENTS * CAPACITY:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # any late double assignment would show now
        loads, events = await _state(f.ws.workspace_id)
    finally:
        for client in clients:
            await client.aclose()
        for server in servers:  # their connections count against the test database's limit
            server.stop()
    assert sum(loads.values()) == AGENTS * CAPACITY
    assert max(loads.values()) <= CAPACITY and len(loads) == AGENTS
    to_someone = Counter(e.conversation_id for e in events if (e.data.get("assignee") or {}).get("to"))
    assert len(to_someone) == AGENTS * CAPACITY and set(to_someone.values()) == {1}
