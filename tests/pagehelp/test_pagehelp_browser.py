"""In Chromium: a page rule opens the widget with its message and suggested articles on a
matching page once the time on the page has passed — not on another page, not again within its
cap — a bubble rule fires on exit intent, and the 진행 상황 button answers without an agent."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import expect

from tests.pagehelp.fixture import articles
from tests.test_api_helpers import client

pytestmark = pytest.mark.browser


async def _page(context, host_site, ws, path: str):
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    await page.goto(f"{host_site.origin}{path}?inbox={ws.inbox_token}")
    await expect(page.locator("#sodam-launcher")).to_be_visible()
    return page


async def test_page_rule_opens_the_widget_with_articles(live_server, new_context, host_site, make_workspace):
    ws = await make_workspace(allowed_origins=[host_site.origin], company_name="소담 쇼핑")
    returns, shipping, _draft = await articles(ws)
    async with client(live_server, ws.api_token) as api:
        r = await api.post(
            "/page-rules",
            json={
                "name": "반품 페이지",
                "pattern": "/orders/*/return",
                "seconds": 2,
                "display": "open",
                "message": {"ko": "반품이 처음이신가요? 아래 안내를 확인해 보세요.", "en": "First return?"},
                "article_mode": "pick",
                "article_ids": [returns, shipping],
            },
        )
        assert r.status_code == 201, r.text
        rule = r.json()
    context = await new_context()
    # Another page: nothing happens, however long the visitor stays.
    other = await _page(context, host_site, ws, "/pricing")
    await asyncio.sleep(3.5)
    await expect(other.locator("#sodam-panel")).to_be_hidden()
    await expect(other.locator("#sodam-suggestion")).to_have_count(0)
    await other.close()

    page = await _page(context, host_site, ws, "/orders/77/return")
    await asyncio.sleep(0.8)
    await expect(page.locator("#sodam-panel")).to_be_hidden()  # not before its 2 seconds
    suggestion = page.locator("#sodam-suggestion")
    await expect(page.locator("#sodam-panel")).to_be_visible()
    await expect(suggestion.locator(".msg-body")).to_have_text(
        "반품이 처음이신가요? 아래 안내를 확인해 보세요."
    )
    links = suggestion.locator(".ph-links a")
    await expect(links).to_have_text(["반품 신청 방법", "배송 기간 안내"])
    assert (await links.first.get_attribute("href")).endswith(f"/help/{ws.slug}/articles/{returns}?lang=ko")
    # Opened by the rule, not by the visitor: no contact is created for a page view.
    async with client(live_server, ws.api_token) as api:
        assert (await api.get("/contacts")).json()["data"] == []
        # The new tab gets its own renderer process: on a loaded machine that alone can take
        # seconds, so the wait is longer than the context's 10 s default.
        async with page.context.expect_page(timeout=30_000) as new_tab:
            await links.first.click()
        await (await new_tab.value).close()
        for _ in range(50):
            stats = (await api.get(f"/page-rules/{rule['id']}/stats")).json()
            if stats["clicked_article"]:
                break
            await asyncio.sleep(0.1)
        assert stats["shown"] == 1 and stats["reached"] == 1 and stats["clicked_article"] == 1
    # The same visitor on the page again: capped (once per 24 h), in the browser and on the server.
    await page.reload()
    await asyncio.sleep(3)
    await expect(page.locator("#sodam-suggestion")).to_have_count(0)
    assert page.errors == []


async def test_bubble_on_exit_intent_and_the_status_button(
    live_server, new_context, host_site, make_workspace
):
    ws = await make_workspace(allowed_origins=[host_site.origin], company_name="소담 쇼핑")
    async with client(live_server, ws.api_token) as api:
        r = await api.post(
            "/page-rules",
            json={
                "name": "결제 이탈",
                "match_type": "prefix",
                "pattern": "/checkout",
                "exit_intent": True,
                "message": {
                    "ko": "결제에 어려움이 있으신가요? 바로 도와드리겠습니다.",
                    "en": "Trouble paying?",
                },
            },
        )
        assert r.status_code == 201, r.text
    page = await _page(await new_context(), host_site, ws, "/checkout/pay")
    await asyncio.sleep(1)
    await expect(page.locator("#sodam-suggest-bubble")).to_have_count(0)  # waits for exit intent
    # The pointer leaves through the top of the window.
    await page.evaluate(
        "document.dispatchEvent(new MouseEvent('mouseout', {clientX: 300, clientY: -2, relatedTarget: null, bubbles: true}))"
    )
    bubble = page.locator("#sodam-suggest-bubble")
    await expect(bubble).to_be_visible()
    await expect(bubble.locator(".ph-text")).to_have_text(
        "결제에 어려움이 있으신가요? 바로 도와드리겠습니다."
    )
    await expect(page.locator("#sodam-panel")).to_be_hidden()
    # 상담 시작하기: the chat opens.
    await bubble.locator(".ph-chat").click()
    await expect(page.locator("#sodam-panel")).to_be_visible()
    await expect(bubble).to_have_count(0)
    # 진행 상황 before writing anything: nothing open.
    await page.locator("#sodam-ask").click()
    reply = page.locator("#sodam-messages .status-reply .msg-body")
    await expect(reply.last).to_contain_text("진행 중인 문의가 없습니다")
    await page.locator("#sodam-input").fill("카드 결제가 안 돼요")
    await page.locator("#sodam-input").press("Enter")
    await expect(page.locator("#sodam-messages .msg.mine[data-status=sent]")).to_have_count(1)
    await page.locator("#sodam-ask").click()
    await expect(reply).to_have_count(2)
    await expect(reply.last).to_contain_text("기다려 주셔서 감사합니다")
    # Typed: answered by the server without an agent.
    await page.locator("#sodam-input").fill("진행 상황 알려주세요")
    await page.locator("#sodam-input").press("Enter")
    await expect(page.locator("#sodam-messages .msg.bot .msg-body").last).to_contain_text(
        "기다려 주셔서 감사합니다"
    )
    await expect(page.locator("#sodam-messages .msg.bot:not(.status-reply):not(.suggest)")).to_have_count(1)
    assert page.errors == []
