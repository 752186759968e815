"""The console on a 390 px phone, in Chromium: the rail folds behind a menu button (aria-expanded,
Esc closes, keyboard reachable), the inbox shows the list or the open conversation with a way
back, nothing scrolls sideways, and message times are Korea's, whatever the browser's zone.
Screenshots (ko/en, 390 px and desktop) go to .pytest_cache/screens/ for a person to look at."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import expect

from sodam.conversations import service as conversations
from sodam.db.session import session_scope
from sodam.knowledge import categories as kb
from tests.e2e.test_privacy_browser import SCREENS, SIZES, set_locale, sign_in
from tests.test_console_helpers import seed_conversation

pytestmark = pytest.mark.browser
PHONE = SIZES["390"]
# Neither the document nor the pane under the top bar may be wider than the screen.
NO_SIDEWAYS_SCROLL = """() => [document.scrollingElement, document.querySelector('.console-main'),
    document.querySelector('.page')].every((el) => !el || el.scrollWidth <= window.innerWidth)"""


async def screenshot(page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENS / f"{name}.png"))


@pytest.mark.parametrize("locale", ["ko", "en"])
async def test_console_on_a_phone(live_server, make_workspace, new_context, locale):
    ws = await make_workspace()
    await set_locale(ws, locale)
    conversation_id, _ = await seed_conversation(ws, text="주문한 상품이 아직 안 왔어요", name="윤서진")
    await seed_conversation(
        ws,
        text="환불은 언제 되나요? 아주 긴 문장이 한 줄을 넘어가도 옆으로 밀리지 않아야 합니다",
        name="Alexander Longname-Example",
    )
    async with session_scope() as session:
        await kb.create_category(
            session, workspace_id=ws.workspace_id, slug="shipping", names={"ko": "배송", "en": "Shipping"}
        )
        first = (
            await conversations.messages_after(
                session, workspace_id=ws.workspace_id, conversation_id=conversation_id
            )
        )[0]
    seoul_time = first.created_at.astimezone(ZoneInfo("Asia/Seoul")).strftime("%H:%M")

    # A browser in New York: the console still shows Korea's time.
    context = await new_context(viewport=PHONE, timezone_id="America/New_York", has_touch=True)
    page = await context.new_page()
    await sign_in(page, live_server, ws)
    rail, toggle = page.locator("#console-rail"), page.locator("#rail-toggle")

    # The rail is folded away; the list fills the screen; nothing scrolls sideways.
    await expect(toggle).to_be_visible()
    await expect(rail).to_be_hidden()
    await expect(toggle).to_have_attribute("aria-expanded", "false")
    await expect(page.locator(".conv-row")).to_have_count(2)
    list_box = await page.locator("#list-pane").bounding_box()
    assert list_box["width"] >= PHONE["width"] - 1, list_box
    assert await page.evaluate(NO_SIDEWAYS_SCROLL)
    await screenshot(page, f"phone-inbox-{locale}-390")

    # Keyboard: Tab reaches the menu button, Enter opens, focus moves into the menu, Esc closes.
    await page.locator("body").focus()
    await page.keyboard.press("Tab")
    await expect(toggle).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(rail).to_be_visible()
    await expect(toggle).to_have_attribute("aria-expanded", "true")
    await expect(page.locator("#nav-inbox")).to_be_focused()
    await expect(page.locator("#nav-kb")).to_be_visible()
    await screenshot(page, f"phone-menu-{locale}-390")
    await page.keyboard.press("Escape")
    await expect(rail).to_be_hidden()
    await expect(toggle).to_have_attribute("aria-expanded", "false")
    await expect(toggle).to_be_focused()
    # A tap outside the open menu closes it too.
    await toggle.click()
    await expect(rail).to_be_visible()
    await page.mouse.click(PHONE["width"] - 20, PHONE["height"] // 2)
    await expect(rail).to_be_hidden()

    # Opening a conversation shows it in full, with a way back to the list.
    await page.locator(f'.conv-row[data-conversation-id="{conversation_id}"]').click()
    conversation = page.locator("#conversation")
    await expect(conversation).to_be_visible()
    await expect(page.locator("#list-pane")).to_be_hidden()
    await expect(page.locator("#back-to-list")).to_be_visible()
    await expect(page.locator("#messages .msg time").first).to_have_text(seoul_time)
    reply = page.locator("#reply-box")
    await expect(reply).to_be_visible()
    reply_box = await reply.bounding_box()
    assert reply_box["x"] >= 0 and reply_box["x"] + reply_box["width"] <= PHONE["width"], reply_box
    await reply.fill("확인해 보겠습니다" if locale == "ko" else "Let me check")
    await reply.press("Enter")
    await expect(page.locator("#messages .msg-outgoing .msg-body").last).to_have_text(
        "확인해 보겠습니다" if locale == "ko" else "Let me check"
    )
    assert await page.evaluate(NO_SIDEWAYS_SCROLL)
    await screenshot(page, f"phone-conversation-{locale}-390")
    await page.locator("#back-to-list").click()
    await expect(page.locator("#list-pane")).to_be_visible()
    await expect(page).to_have_url(re.compile(r"/console$"))

    # Other pages fit too.
    for path in ("/console/kb", "/console/kb/categories", "/console/settings", "/console/contacts"):
        await page.goto(live_server.url + path)
        await expect(toggle).to_be_visible()
        assert await page.evaluate(NO_SIDEWAYS_SCROLL), path
        await screenshot(page, f"phone{path.replace('/', '-')}-{locale}-390")

    # On a desktop the rail is always there and the menu button is not.
    await page.set_viewport_size(SIZES["desktop"])
    await page.goto(f"{live_server.url}/console/conversations/{conversation_id}")
    await expect(rail).to_be_visible()
    await expect(toggle).to_be_hidden()
    await expect(page.locator("#list-pane")).to_be_visible()
    await expect(page.locator("#back-to-list")).to_be_hidden()
    await screenshot(page, f"phone-conversation-{locale}-desktop")
    # The categories table: each input sits under its own header.
    await page.goto(f"{live_server.url}/console/kb/categories")
    for header, field in ((3, "name_ko"), (4, "name_en")):
        th = await page.locator(f"#kb-categories thead th:nth-child({header})").bounding_box()
        box = await page.locator(f'#kb-categories tbody input[name="{field}"]').bounding_box()
        assert th["x"] <= box["x"] < th["x"] + th["width"], (field, th, box)
    await screenshot(page, f"kb-categories-{locale}-desktop")
