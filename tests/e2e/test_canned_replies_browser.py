"""In Chromium: `/배송` in the reply box opens the canned-reply picker, Enter inserts the reply
with the contact's name filled in, the agent edits it and sends it, and it shows in the
timeline; the mouse, Esc and the settings page too. Screenshots (ko/en, desktop and 390 px)
go to .pytest_cache/screens/ for a person to look at."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from sodam.db.session import session_scope
from sodam.replies import service
from sodam.replies.models import ReplyScope
from tests.e2e.test_privacy_browser import SCREENS, SIZES, set_locale, shoot, sign_in
from tests.test_console_helpers import seed_conversation

pytestmark = pytest.mark.browser


async def shoot_conversation(page, name: str) -> None:
    """The console has no phone layout yet (at 390 px the rail and the list take the width and
    the conversation pane is hidden): shoot the pane at about 390 px wide instead, which is
    what the picker has to fit in."""
    await page.set_viewport_size({"width": 890, "height": 760})
    pane = page.locator("#conversation")
    box = await pane.bounding_box()
    await pane.screenshot(path=str(SCREENS / f"{name}-pane-{round(box['width'])}.png"))
    await page.set_viewport_size(SIZES["desktop"])


async def add_replies(ws) -> dict[str, int]:
    async with session_scope() as session:
        viewer = await service.viewer(
            session, workspace_id=ws.workspace_id, agent_id=ws.agent_id, role="admin"
        )
        made = {}
        for shortcut, title, body, scope in (
            (
                "배송",
                "배송 중 안내",
                "{{contact.first_name}}님, 주문하신 상품은 배송 중입니다.\n상담원 {{agent.name}}이었습니다.",
                ReplyScope.workspace,
            ),
            (
                "배송지",
                "배송지 변경 방법",
                "배송지는 출고 전까지 주문 내역에서 바꾸실 수 있습니다.",
                ReplyScope.workspace,
            ),
            (
                "환불",
                "환불 안내",
                "{{contact.name}}님, 환불은 3~5영업일 안에 처리됩니다.",
                ReplyScope.personal,
            ),
            ("thanks", "Thank you", "Thanks for waiting, {{contact.first_name}}!", ReplyScope.workspace),
        ):
            reply = await service.create(
                session,
                workspace_id=ws.workspace_id,
                viewer=viewer,
                shortcut=shortcut,
                title=title,
                body=body,
                scope=scope,
            )
            made[shortcut] = reply.id
        return made


async def test_slash_inserts_a_canned_reply_with_the_contacts_name(live_server, make_workspace, new_context):
    ws = await make_workspace()
    ids = await add_replies(ws)
    conversation_id, _ = await seed_conversation(ws, text="주문한 상품 언제 와요?", name="김민지")
    page = await (await new_context()).new_page()
    await page.set_viewport_size(SIZES["desktop"])
    await sign_in(page, live_server, ws)
    await page.goto(f"{live_server.url}/console/conversations/{conversation_id}")
    await page.evaluate("window.__noReload = true")

    box = page.locator("textarea#reply-box")
    picker = page.locator("#reply-picker")
    await box.click()
    await box.type("/배송")
    options = picker.locator("li[role=option]")
    await expect(options.first).to_contain_text("/배송")
    await expect(options).to_have_count(2)  # 배송 (the shortcut itself) first, then 배송지
    await expect(options.nth(0)).to_have_class("active")
    await shoot(page, "canned-picker-ko")
    await shoot_conversation(page, "canned-picker-ko")

    await box.press("ArrowDown")
    await expect(options.nth(1)).to_have_class("active")
    await box.press("ArrowUp")
    await box.press("Enter")  # inserts; does not send
    await expect(picker).to_be_hidden()
    expected = f"민지님, 주문하신 상품은 배송 중입니다.\n상담원 상담원 {ws.slug}이었습니다."
    await expect(box).to_have_value(expected)
    await expect(page.locator("#messages .msg-outgoing")).to_have_count(0)

    # Edited in place, then sent as usual.
    await box.press("End")
    await box.type(" 내일 도착 예정입니다.")
    await box.press("Enter")
    sent = page.locator("#messages .msg.msg-outgoing .msg-body")
    await expect(sent).to_have_text([expected + " 내일 도착 예정입니다."])
    await expect(box).to_have_value("")

    # After a space, with the mouse; Esc closes without touching the text.
    await box.type("안내드립니다 /환불")
    await expect(picker.locator("li[role=option]")).to_have_count(1)
    await picker.locator("li[role=option]").first.click()
    await expect(box).to_have_value("안내드립니다 김민지님, 환불은 3~5영업일 안에 처리됩니다.")
    await box.fill("")
    await box.type("/없는답변")
    await expect(picker.locator(".pick-empty")).to_be_visible()
    await box.press("Escape")
    await expect(picker).to_be_hidden()
    await expect(box).to_have_value("/없는답변")
    await expect(box).to_be_focused()
    assert await page.evaluate("window.__noReload") is True

    async with session_scope() as session:
        viewer = await service.viewer(
            session, workspace_id=ws.workspace_id, agent_id=ws.agent_id, role="admin"
        )
        used = {
            r.shortcut: r.usage_count
            for r in await service.list_(session, workspace_id=ws.workspace_id, viewer=viewer)
        }
    assert used == {"배송": 1, "배송지": 0, "환불": 1, "thanks": 0}
    assert ids

    # The settings page, and both pages in English.
    await page.goto(f"{live_server.url}/console/settings/replies")
    await expect(page.locator("#replies-table tr[data-reply-id]")).to_have_count(4)
    await page.locator("#reply-new summary").click()
    await expect(page.locator("#reply-create-body")).to_be_visible()
    await shoot(page, "canned-settings-ko")
    await set_locale(ws, "en")
    await page.reload()
    await expect(page.locator("h1")).to_have_text("Canned replies")
    await page.locator("#reply-new summary").click()
    await shoot(page, "canned-settings-en")
    await page.goto(f"{live_server.url}/console/conversations/{conversation_id}")
    await box.click()
    await box.type("/than")
    await expect(picker.locator("li[role=option]")).to_have_count(1)
    await expect(picker).to_contain_text("Everyone")
    await shoot(page, "canned-picker-en")
    await shoot_conversation(page, "canned-picker-en")
    await box.press("Tab")
    await expect(box).to_have_value("Thanks for waiting, 민지!")
    assert SCREENS.exists()
