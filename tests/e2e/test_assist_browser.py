"""In Chromium: opening a conversation shows assist suggestions for the customer's question;
Alt+1 puts the first one in the reply box, a click and Enter on a focused suggestion too; typing
re-ranks them; the panel folds away. Screenshots (ko/en, 1280 and 390 px) go to
.pytest_cache/screens/."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect
from sqlalchemy import update

from sodam.conversations.models import Message, SenderType
from sodam.db.session import session_scope
from sodam.knowledge import embedding
from tests.assist.test_assist import _conversation, _seed
from tests.e2e.test_privacy_browser import SIZES, set_locale, shoot, sign_in

pytestmark = pytest.mark.browser


async def test_suggestions_insert_with_one_key(live_server, make_workspace, new_context):
    ws = await make_workspace()
    await _seed(ws)
    # The articles' sentence vectors, before the console opens: the server's worker embeds them
    # in the background, and on a loaded machine the panel could be drawn before it had (the
    # customer's words match "배송은 얼마나 걸리나요?" only by meaning).
    await embedding.embed_articles(ws.workspace_id)
    conv = await _conversation(
        ws, [("c", "배송 언제 와요? 주문한 지 일주일이 넘었는데 너무 늦네요")], language="ko"
    )
    async with session_scope() as session:
        await session.execute(
            update(Message)
            .where(Message.conversation_id == conv, Message.sender_type == SenderType.contact)
            .values(sentiment_score=-0.7, sentiment_label="negative")
        )
        await session.commit()
    page = await (await new_context()).new_page()
    await page.set_viewport_size(SIZES["desktop"])
    await sign_in(page, live_server, ws)
    await page.goto(f"{live_server.url}/console/conversations/{conv}")
    items = page.locator("#assist-list .assist-insert")
    await expect(items.first).to_be_visible(timeout=20_000)
    # empathy first (negative sentiment, a delay), then the article, then the past reply
    await expect(page.locator(".assist-empathy .assist-title")).to_contain_text("오래 기다리시게 해서")
    await expect(page.locator(".assist-article .assist-title").first).to_have_text("배송은 얼마나 걸리나요?")
    await expect(page.locator(".assist-reply .assist-title").first).to_contain_text("보통 결제 후 2~3일")
    box = page.locator("#reply-box")
    await box.focus()
    await page.keyboard.press("Alt+1")
    await expect(box).to_have_value(
        "오래 기다리시게 해서 정말 죄송합니다. 지금 바로 진행 상황을 확인해 드리겠습니다."
    )
    await page.keyboard.press("Alt+2")
    value = await box.input_value()
    assert "배송은 얼마나 걸리나요?\n" in value and "/articles/" in value
    await box.fill("")
    await page.locator(".assist-reply .assist-insert").first.click()
    await expect(box).to_have_value("보통 결제 후 2~3일 안에 도착합니다. 송장 번호로 배송 조회가 가능합니다.")
    await box.fill("")
    await page.locator(".assist-article .assist-insert").first.focus()
    await page.keyboard.press("Enter")
    await expect(box).to_have_value(re.compile(r"^배송은 얼마나 걸리나요\?\n"))
    await shoot(page, "assist-ko")
    # usage is counted (reported in batches)
    await page.evaluate("window.dispatchEvent(new Event('pagehide'))")
    await expect(page.locator("#assist-usage")).not_to_be_empty()
    # the panel folds away and stays folded
    await page.locator("#assist-toggle").click()
    await expect(page.locator("#assist-body")).to_be_hidden()
    await page.locator("#assist-toggle").click()
    await expect(page.locator("#assist-body")).to_be_visible()
    # English
    await set_locale(ws, "en")
    en = await _conversation(ws, [("c", "I need a refund, the item is not what I ordered")], language="en")
    await page.goto(f"{live_server.url}/console/conversations/{en}")
    await expect(page.locator(".assist-article .assist-title").first).to_have_text("How do I get a refund?")
    await expect(page.locator("#assist-title")).to_contain_text("Assist")
    await shoot(page, "assist-en")
