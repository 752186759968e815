"""In Chromium: a customer waiting for a person sees their place in the queue fall as an
agent frees a place, then the agent's reply; routing runs in the test server's worker."""

from __future__ import annotations

import uuid

import httpx
import pytest
from playwright.async_api import expect
from sqlalchemy import select

from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation, Status
from sodam.db.session import session_scope
from tests.e2e.support import agent_reply
from tests.e2e.test_widget_browser import open_widget, send

pytestmark = pytest.mark.browser


async def _visitor_message(client, ws, text: str) -> None:
    visitor = (await client.post(f"/widget/v1/{ws.inbox_token}/session", json={"locale": "ko"})).json()
    sent = await client.post(
        f"/widget/v1/{ws.inbox_token}/messages",
        json={"content": text, "client_id": str(uuid.uuid4())},
        headers={"X-Sodam-Visitor": visitor["visitor_token"]},
    )
    assert sent.status_code in (200, 201), sent.text


async def _resolve_assigned(ws) -> None:
    async with session_scope() as session:
        conversation = await session.scalar(
            select(Conversation).where(
                Conversation.workspace_id == ws.workspace_id,
                Conversation.assignee_id == ws.agent_id,
                Conversation.status == Status.open,
            )
        )
        assert conversation is not None
        await conversations.set_status(
            session,
            workspace_id=ws.workspace_id,
            conversation_id=conversation.id,
            status=Status.resolved,
            actor_id=ws.agent_id,
        )
        await session.commit()


async def _assigned_to_agent(ws) -> list[int]:
    async with session_scope() as session:
        return list(
            await session.scalars(
                select(Conversation.id).where(
                    Conversation.workspace_id == ws.workspace_id,
                    Conversation.assignee_id == ws.agent_id,
                    Conversation.status == Status.open,
                )
            )
        )


async def test_the_queue_place_falls_as_an_agent_frees_up_then_the_reply_arrives(
    live_server, new_context, host_site, make_workspace
):
    ws = await make_workspace(
        allowed_origins=[host_site.origin], company_name="소담 쇼핑", auto_assign=True, auto_reply=True
    )
    api = httpx.AsyncClient(
        base_url=live_server.url, headers={"Authorization": f"Bearer {ws.api_token}"}, timeout=10
    )
    async with api, httpx.AsyncClient(base_url=live_server.url, timeout=10) as client:
        # One agent, one conversation at a time.
        r = await api.patch(f"/api/v1/routing/agents/{ws.agent_id}", json={"capacity": {"default": 1}})
        assert r.status_code == 200, r.text
        r = await api.put("/api/v1/routing/availability", json={"availability": "online"})
        assert r.json()["availability"] == "online"
        await _visitor_message(client, ws, "첫 번째 고객입니다")  # taken by the agent
        await _visitor_message(client, ws, "두 번째 고객입니다")  # waits first in line

        page = await open_widget(await new_context(), host_site, ws)
        await send(page, "세 번째로 문의드려요")
        bar = page.locator("#sodam-waiting")
        await expect(bar).to_contain_text("대기 순번 2번", timeout=15_000)
        auto = page.locator("#sodam-messages .msg.bot").last
        await expect(auto).to_contain_text("대기 순번은 2번")

        await _resolve_assigned(ws)  # the second customer gets the agent: we move up
        await expect(bar).to_contain_text("대기 순번 1번", timeout=15_000)

        await _resolve_assigned(ws)  # now it is our turn
        for _ in range(100):
            mine = await _assigned_to_agent(ws)
            if mine:
                break
            await page.wait_for_timeout(100)
        assert len(mine) == 1
        await agent_reply(ws, mine[0], "기다려 주셔서 감사합니다. 무엇을 도와드릴까요?")
        await expect(page.locator("#sodam-messages .msg.agent .msg-body")).to_have_text(
            ["기다려 주셔서 감사합니다. 무엇을 도와드릴까요?"]
        )
        await expect(bar).to_be_hidden()
    assert page.errors == []
