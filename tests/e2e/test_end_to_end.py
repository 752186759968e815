"""The issue's whole scenario in Chromium: a customer on a shop's site (another origin) asks
in Korean through the widget; an agent logged into the console sees it arrive live, answers,
and the customer sees the answer live. No reloads anywhere."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.browser

QUESTION = "배송기간 얼마나 걸려요?"
ANSWER = "보통 주문 후 2~3일 안에 받아 보실 수 있습니다."
FOLLOW_UP = "감사합니다! 주말에도 배송되나요?"


async def test_visitor_and_agent_talk_live(live_server, host_site, new_context, make_workspace):
    ws = await make_workspace(allowed_origins=[host_site.origin], company_name="소담 쇼핑")

    # The agent logs in and keeps the console open on every open conversation.
    agent = await (await new_context()).new_page()
    await agent.goto(f"{live_server.url}/console/login")
    await agent.locator("input[name=email]").fill(ws.agent_email)
    await agent.locator("input[name=password]").fill(ws.agent_password)
    await agent.locator("button[type=submit]").click()
    await expect(agent).not_to_have_url(f"{live_server.url}/console/login")
    await agent.goto(f"{live_server.url}/console?view=all&status=open")
    rows = agent.locator("#conversation-list [data-conversation-id]")
    await expect(rows).to_have_count(0)

    # The customer, on the shop's page, opens the widget and asks.
    visitor = await (await new_context()).new_page()
    await visitor.goto(host_site.page_url(ws.inbox_token))
    await visitor.locator("#sodam-launcher").click()
    await visitor.locator("#sodam-input").fill(QUESTION)
    await visitor.locator("#sodam-send").click()
    await expect(visitor.locator("#sodam-messages .msg.mine")).to_have_attribute("data-status", "sent")

    # The conversation appears in the console without a reload; the agent opens it.
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(QUESTION)
    await rows.first.click()
    await expect(agent.locator("#messages .msg .msg-body")).to_have_text([QUESTION])

    # The agent answers; the customer sees it live, with the agent's name.
    await agent.locator("textarea#reply-box").fill(ANSWER)
    await agent.locator("button#reply-send").click()
    reply = visitor.locator("#sodam-messages .msg.agent")
    await expect(reply.locator(".msg-body")).to_have_text(ANSWER)
    await expect(reply.locator(".sender")).to_contain_text("상담원")
    await expect(agent.locator("#messages .msg .msg-body", has_text=ANSWER)).to_have_count(1)

    # And back again: the follow-up shows up in the open conversation, live, once.
    await visitor.locator("#sodam-input").fill(FOLLOW_UP)
    await visitor.locator("#sodam-input").press("Enter")
    await expect(agent.locator("#messages .msg .msg-body", has_text=FOLLOW_UP)).to_have_count(1)
    await expect(agent.locator("#messages .msg .msg-body", has_text=QUESTION)).to_have_count(1)
