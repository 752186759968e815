"""A newcomer's first hour, four things it found broken, each reproduced in Chromium: the new
article page threw before its textarea existed (so a category's template never filled in); the
conversation view hid its latest messages once the assist panel filled in below them (390 px);
the widget's CSAT card arrived half hidden under the "상담이 종료되었습니다" bar; the help
center's 👍/👎 were empty boxes in a browser without an emoji font."""

from __future__ import annotations

import os
import re

import pytest
from playwright.async_api import expect

from sodam.conversations import service as conversations
from sodam.conversations.models import SenderType
from sodam.db.session import session_scope
from sodam.knowledge import categories
from sodam.knowledge import service as knowledge
from tests.e2e.support import stored_messages
from tests.e2e.test_widget_browser import open_widget, send
from tests.test_api_helpers import client
from tests.test_console_helpers import seed_conversation

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


async def sign_in(page, live_server, ws) -> None:
    await page.goto(f"{live_server.url}/console/login")
    await page.locator("input[name=email]").fill(ws.agent_email)
    await page.locator("input[name=password]").fill(ws.agent_password)
    await page.locator("form button[type=submit]").click()
    await expect(page).to_have_url(re.compile(r"/console$"))
    await page.wait_for_load_state("load")  # its deferred scripts have run


def gap_below(locator):
    """How many pixels of the list are below what is shown (0: scrolled to its end)."""
    return locator.evaluate("e => e.scrollHeight - e.scrollTop - e.clientHeight")


async def test_a_new_article_starts_from_its_category_template(live_server, make_workspace, new_context):
    ws = await make_workspace()
    async with session_scope() as session:
        category = await categories.create_category(
            session,
            workspace_id=ws.workspace_id,
            slug="shipping",
            names={"ko": "배송", "en": "Shipping"},
            template={"ko": "## 문제\n\n## 해결 방법\n", "en": "## Problem\n\n## Steps\n"},
        )
    page = await (await new_context()).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await sign_in(page, live_server, ws)
    await page.goto(f"{live_server.url}/console/kb/new")
    await page.locator("#kb-category").select_option(str(category.id))
    await expect(page.locator("#kb-body")).to_have_value("## 문제\n\n## 해결 방법\n")
    await page.locator("#kb-locale").select_option("en")
    await expect(page.locator("#kb-body")).to_have_value("## Problem\n\n## Steps\n")
    assert errors == []


async def test_the_latest_message_stays_in_view_when_the_panels_below_fill_in(
    live_server, make_workspace, new_context
):
    ws = await make_workspace()
    conversation_id, contact_id = await seed_conversation(
        ws, text="배송이 언제 오나요?", assignee_id=ws.agent_id
    )
    async with session_scope() as session:
        conv = await conversations.get(session, workspace_id=ws.workspace_id, conversation_id=conversation_id)
        for i in range(14):
            who = (SenderType.contact, contact_id) if i % 2 else (SenderType.agent, ws.agent_id)
            await conversations.create_message(
                session,
                conversation=conv,
                content=f"메시지 {i} — 주문 확인 부탁드립니다",
                sender_type=who[0],
                sender_id=who[1],
            )
        await conversations.create_message(
            session,
            conversation=conv,
            content="마지막 메시지입니다",
            sender_type=SenderType.contact,
            sender_id=contact_id,
        )
    page = await (await new_context(viewport=PHONE)).new_page()
    await sign_in(page, live_server, ws)
    await page.goto(f"{live_server.url}/console/conversations/{conversation_id}")
    # The assist panel's first answer replaces its "loading" line and changes its height.
    await expect(page.locator("#assist-list")).not_to_contain_text("제안을 찾는 중")
    await page.wait_for_timeout(500)
    assert await gap_below(page.locator("#messages")) < 4
    await expect(page.locator("#messages").get_by_text("마지막 메시지입니다")).to_be_in_viewport()


async def test_the_csat_card_is_shown_whole_when_the_conversation_is_resolved(
    live_server, make_workspace, new_context, host_site
):
    ws = await make_workspace(allowed_origins=[host_site.origin], company_name="소담 쇼핑")
    async with client(live_server, ws.api_token) as api:
        r = await api.post(
            "/surveys", json={"name": "상담 만족도", "kind": "csat", "on_resolve_inbox_ids": [ws.inbox_id]}
        )
        assert r.status_code < 300, r.text
    customer = await open_widget(await new_context(viewport=PHONE), host_site, ws)
    await send(customer, "주문한 신발이 아직 안 왔어요")
    await expect(customer.locator('#sodam-messages .msg.mine[data-status="sent"]')).to_have_count(1)
    (message,) = [m for m in await stored_messages(ws) if m.sender_type.value == "contact"]
    async with session_scope() as session:
        conv = await conversations.get(
            session, workspace_id=ws.workspace_id, conversation_id=message.conversation_id
        )
        for i in range(6):  # enough history that the list scrolls
            await conversations.create_message(
                session,
                conversation=conv,
                content=f"확인해 보겠습니다 {i}. 잠시만 기다려 주세요.",
                sender_type=SenderType.agent,
                sender_id=ws.agent_id,
            )
    await expect(customer.locator("#sodam-messages .msg")).to_have_count(8, timeout=20_000)
    async with client(live_server, ws.api_token) as api:
        r = await api.patch(f"/conversations/{message.conversation_id}", json={"status": "resolved"})
        assert r.status_code == 200
    card = customer.locator("#sodam-messages .survey")
    await expect(card.locator(".star")).to_have_count(5, timeout=30_000)
    await customer.wait_for_timeout(500)
    await expect(card.locator(".go")).to_be_in_viewport()
    assert await gap_below(customer.locator("#sodam-messages")) < 4
    # After a reload the card is still the last thing in view.
    await customer.reload()
    await expect(customer.locator("#sodam-panel")).to_be_visible()  # the widget reopens as it was
    await expect(card.locator(".star")).to_have_count(5, timeout=30_000)
    await customer.wait_for_timeout(500)
    await expect(card.locator(".go")).to_be_in_viewport()


async def test_the_help_center_vote_buttons_say_what_they_do(live_server, make_workspace, new_context):
    ws = await make_workspace()
    async with session_scope() as session:
        article = await knowledge.create_article(
            session,
            workspace_id=ws.workspace_id,
            title="선물 포장",
            locale="ko",
            status="published",
            body="가능합니다.",
        )
    page = await (await new_context(viewport=PHONE)).new_page()
    await page.goto(f"{live_server.url}/help/{ws.slug}/articles/{article.id}?lang=ko")
    # Words, not emoji alone: Chromium without an emoji font drew two empty boxes.
    await expect(page.locator("#vote-yes")).to_have_text("네, 도움이 되었어요")
    await expect(page.locator("#vote-no")).to_have_text("아니요, 도움이 되지 않았어요")
    await expect(page.locator("#vote-yes svg")).to_be_visible()
    await page.locator("#vote-no").click()
    await expect(page.locator("body")).to_contain_text("불편을 드려 죄송합니다")


HEADER_SHOTS = os.environ.get("SODAM_HEADER_SHOTS")  # a folder: screenshots of the header test


@pytest.mark.parametrize("locale", ["ko", "en"])
async def test_the_conversation_header_is_compact_on_a_phone_and_keeps_every_action(
    live_server, make_workspace, new_context, locale
):
    """At 390 px the header took ~270 px of an 844 px screen (assignee, team, five status
    buttons, priority, snooze, tags, co-browse each on their own wrapped row). It stays within
    two short lines; every action is still there, in the "더 보기" menu."""
    from tests.e2e.test_privacy_browser import set_locale

    ws = await make_workspace()
    await set_locale(ws, locale)
    conversation_id, _ = await seed_conversation(ws, text="배송이 언제 오나요?")
    page = await (await new_context(viewport=PHONE)).new_page()
    await sign_in(page, live_server, ws)
    await page.goto(f"{live_server.url}/console/conversations/{conversation_id}")
    header = page.locator(".conversation-header")
    await expect(header).to_be_visible()
    for width in (390, 1280):
        await page.set_viewport_size({"width": width, "height": 844})
        await page.wait_for_timeout(200)
        if HEADER_SHOTS:
            await page.screenshot(path=f"{HEADER_SHOTS}/header-{locale}-{width}.png")
    await page.set_viewport_size(PHONE)
    box = await header.bounding_box()
    assert box["height"] <= 110, box
    # Every action is reachable: in view, or one tap away in the overflow menu.
    more = page.locator("#conversation-more-toggle")
    if await more.is_visible():
        await more.click()
        await expect(more).to_have_attribute("aria-expanded", "true")
        if HEADER_SHOTS:
            await page.screenshot(path=f"{HEADER_SHOTS}/header-{locale}-390-menu.png")
    for selector in (
        "#assign-me",
        "#assign-agent",
        "#status-actions .status-button[data-status=resolved]",
        "#status-actions .status-button[data-status=pending]",
        "#priority-select",
        "#snooze-open",
        "#tags-input",
        "#cobrowse-ask",
    ):
        await expect(page.locator(selector)).to_be_visible()
        assert await page.locator(selector).evaluate(
            "e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right <= innerWidth + 1 }"
        ), selector
    await page.locator("#status-actions .status-button[data-status=resolved]").click()
    await expect(page.locator("#status-actions .status-badge")).to_have_text(
        "해결됨" if locale == "ko" else "Resolved"
    )
    # Wide screens keep the header as it was: the actions in view, no menu.
    await page.set_viewport_size({"width": 1280, "height": 844})
    await expect(page.locator("#assign-agent")).to_be_visible()
    await expect(page.locator("#conversation-more-toggle")).to_be_hidden()
