"""The console in Chromium: customer messages arrive live, the agent replies with Enter, writes a
private note, assigns and resolves, and none of it reloads the page."""

from __future__ import annotations

import asyncio
import re
import uuid

import httpx
import pytest
from playwright.async_api import expect

from tests.e2e.test_privacy_browser import sign_in

pytestmark = pytest.mark.browser


class Customer:
    """A visitor talking through the widget's HTTP API."""

    def __init__(self, server, inbox_token: str):
        self.client = httpx.AsyncClient(base_url=server.url)
        self.inbox = inbox_token
        self.token = None

    async def say(self, text: str) -> dict:
        if self.token is None:
            r = await self.client.post(f"/widget/v1/{self.inbox}/session", json={"locale": "ko"})
            self.token = r.json()["visitor_token"]
        r = await self.client.post(
            f"/widget/v1/{self.inbox}/messages",
            json={"content": text, "client_id": str(uuid.uuid4())},
            headers={"X-Sodam-Visitor": self.token},
        )
        assert r.status_code == 201, r.text
        return r.json()


async def test_console_is_live_without_reloads(live_server, new_context, make_workspace):
    ws = await make_workspace()
    page = await (await new_context()).new_page()
    await page.goto(f"{live_server.url}/console")
    await expect(page).to_have_url(f"{live_server.url}/console/login?next=%2Fconsole")
    await page.locator("input[name=email]").fill(ws.agent_email)
    await page.locator("input[name=password]").fill(ws.agent_password)
    await page.locator("button[type=submit]").click()
    await expect(page).to_have_url(f"{live_server.url}/console")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "connected")
    await page.evaluate("window.__noReload = true")

    customer = Customer(live_server, ws.inbox_token)
    first = await customer.say("안녕하세요, 환불 문의드려요")
    row = page.locator(f'#conversation-list [data-conversation-id="{first["conversation_id"]}"]')
    await expect(row).to_contain_text("안녕하세요, 환불 문의드려요")
    await row.click()
    await expect(page).to_have_url(
        re.compile(
            re.escape(
                f"{live_server.url}/console/conversations/{first['conversation_id']}?view=all&status=open"
            )
            + r"(&sort=recent)?$"
        )
    )
    messages = page.locator("#messages")
    await expect(
        messages.locator(f'.msg.msg-incoming[data-message-id="{first["id"]}"] .msg-body')
    ).to_have_text("안녕하세요, 환불 문의드려요")

    # A customer message while the conversation is open: appended once, as text.
    evil = await customer.say('<img src=x onerror="window.__xss=1">주문번호 1234입니다')
    incoming = messages.locator(f'.msg[data-message-id="{evil["id"]}"]')
    await expect(incoming.locator(".msg-body")).to_have_text(
        '<img src=x onerror="window.__xss=1">주문번호 1234입니다'
    )
    await expect(messages.locator("img")).to_have_count(0)
    assert await page.evaluate("window.__xss") is None
    await expect(row.locator(".row-preview")).to_contain_text("주문번호 1234")

    # Enter sends, Shift+Enter is a new line.
    box = page.locator("textarea#reply-box")
    await box.fill("확인해 보겠습니다.")
    await box.press("Shift+Enter")
    await box.type("잠시만 기다려 주세요.")
    await box.press("Enter")
    outgoing = messages.locator(".msg.msg-outgoing .msg-body")
    await expect(outgoing).to_have_text(["확인해 보겠습니다.\n잠시만 기다려 주세요."])
    await expect(box).to_have_value("")

    # A private note: yellow, never for the customer.
    await page.locator("input#reply-private").check()
    await box.fill("VIP 고객, 환불 승인 필요")
    await page.locator("button#reply-send").click()
    await expect(messages.locator(".msg.msg-note .msg-body")).to_have_text(["VIP 고객, 환불 승인 필요"])
    seen = await customer.client.get(
        f"/widget/v1/{ws.inbox_token}/messages", headers={"X-Sodam-Visitor": customer.token}
    )
    assert "VIP 고객, 환불 승인 필요" not in seen.text

    # The reply claimed the unassigned conversation (no two agents answer one customer); then
    # resolve: the header updates and system lines appear.
    await expect(page.locator("#assignee-name")).to_have_text(f"상담원 {ws.slug}")
    await expect(page.locator("#assign-actions #assign-me")).to_have_count(0)
    await page.locator('#status-actions button[data-status="resolved"]').click()
    await expect(page.locator("#status-actions")).to_have_attribute("data-status", "resolved")
    await expect(messages.locator(".msg.msg-system")).to_have_count(2)
    await expect(messages.locator(".msg.msg-system").last).to_contain_text("해결됨")
    # Resolved conversations leave the open list.
    await expect(row).to_have_count(0)

    # Every message exactly once, and the page was never reloaded.
    await expect(messages.locator(".msg[data-message-id]")).to_have_count(4)
    assert await page.evaluate("window.__noReload") is True


async def test_keyboard_moves_assigns_and_resolves(live_server, new_context, make_workspace):
    ws = await make_workspace()
    customers = [Customer(live_server, ws.inbox_token) for _ in range(2)]
    first = await customers[0].say("첫 번째 고객입니다")
    second = await customers[1].say("두 번째 고객입니다")
    page = await (await new_context()).new_page()
    await page.goto(f"{live_server.url}/console/login")
    await page.locator("input[name=email]").fill(ws.agent_email)
    await page.locator("input[name=password]").fill(ws.agent_password)
    await page.locator("button[type=submit]").click()
    await expect(page).to_have_url(f"{live_server.url}/console")
    await page.goto(f"{live_server.url}/console?view=all&status=open")
    rows = page.locator("#conversation-list .conv-row")
    await expect(rows).to_have_count(2)
    top = await rows.first.get_attribute("data-conversation-id")
    assert {top, await rows.last.get_attribute("data-conversation-id")} == {
        str(first["conversation_id"]),
        str(second["conversation_id"]),
    }

    await page.keyboard.press("j")  # nothing selected yet: the first row opens
    await expect(page.locator("#conversation")).to_have_attribute("data-conversation-id", top)
    await page.keyboard.press("j")
    other = await rows.last.get_attribute("data-conversation-id")
    await expect(page.locator("#conversation")).to_have_attribute("data-conversation-id", other)
    await page.keyboard.press("k")
    await expect(page.locator("#conversation")).to_have_attribute("data-conversation-id", top)

    # Letters typed in the reply box are text, not commands; Esc leaves the box.
    await page.keyboard.press("r")
    await expect(page.locator("#reply-box")).to_be_focused()
    await page.keyboard.type("jeak")
    await expect(page.locator("#reply-box")).to_have_value("jeak")
    await expect(page.locator("#conversation")).to_have_attribute("data-conversation-id", top)
    await page.keyboard.press("Escape")

    await page.keyboard.press("a")
    await expect(page.locator("#assignee-name")).to_have_text(f"상담원 {ws.slug}")
    await page.keyboard.press("e")
    await expect(page.locator("#status-actions")).to_have_attribute("data-status", "resolved")

    await page.keyboard.press("?")
    await expect(page.locator("dialog#shortcuts")).to_be_visible()
    await expect(page.locator("dialog#shortcuts")).to_contain_text("대화 해결")
    await page.keyboard.press("?")
    await expect(page.locator("dialog#shortcuts")).to_be_hidden()


async def test_unread_dot_appears_live_and_clears_when_opened(live_server, new_context, make_workspace):
    ws = await make_workspace()
    quiet, chatty = Customer(live_server, ws.inbox_token), Customer(live_server, ws.inbox_token)
    opened = await quiet.say("배송지 변경 문의드려요")
    other = await chatty.say("안녕하세요")
    page = await (await new_context()).new_page()
    await page.goto(f"{live_server.url}/console/login")
    await page.locator("input[name=email]").fill(ws.agent_email)
    await page.locator("input[name=password]").fill(ws.agent_password)
    await page.locator("button[type=submit]").click()
    await page.goto(
        f"{live_server.url}/console/conversations/{opened['conversation_id']}?view=all&status=open"
    )
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "connected")
    row = page.locator(f'#conversation-list [data-conversation-id="{other["conversation_id"]}"]')
    mine = page.locator(f'#conversation-list [data-conversation-id="{opened["conversation_id"]}"]')
    await expect(row).to_have_class(re.compile(r"\bunread\b"))
    await expect(mine).not_to_have_class(re.compile(r"\bunread\b"))

    # A live message in the open conversation stays read; one elsewhere lights its dot.
    async with page.expect_response(lambda r: r.url.endswith("/read") and r.request.method == "POST"):
        await quiet.say("주소는 서울시 마포구입니다")  # seen live: the console reports it read
    await expect(page.locator("#messages")).to_contain_text("주소는 서울시 마포구입니다")
    await expect(mine).not_to_have_class(re.compile(r"\bunread\b"))
    await row.click()
    await expect(row).not_to_have_class(re.compile(r"\bunread\b"))
    await page.reload()
    await expect(page.locator("#conversation-list .conv-row.unread")).to_have_count(0)


async def _open_signed_in(live_server, new_context, ws, conversation_id: int):
    page = await (await new_context()).new_page()
    await sign_in(page, live_server, ws)
    await page.goto(f"{live_server.url}/console/conversations/{conversation_id}?view=all&status=open")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "connected")
    return page


def _teammate(live_server, ws) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=live_server.url, headers={"Authorization": f"Bearer {ws.api_token}"})


async def test_a_slow_list_refresh_does_not_drop_the_actions_refresh(
    live_server, new_context, make_workspace
):
    """A teammate's changes arrive as frames; each asks for the list (after 250 ms) and the
    header's actions. While a list refresh is slow, a later list refresh must not take the
    place of the actions refresh queued behind it: the header would keep an old status."""
    ws = await make_workspace()
    said = await Customer(live_server, ws.inbox_token).say("주문 취소 문의드려요")
    page = await _open_signed_in(live_server, new_context, ws, said["conversation_id"])

    async def slow_list(route):
        response = await route.fetch()
        await asyncio.sleep(1.5)
        await route.fulfill(response=response)

    await page.route(re.compile(r".*/console/conversations\?view=.*"), slow_list)
    url = f"/api/v1/conversations/{said['conversation_id']}"
    async with _teammate(live_server, ws) as teammate:
        assert (await teammate.patch(url, json={"status": "pending"})).status_code == 200
        await expect(page.locator("#status-actions")).to_have_attribute("data-status", "pending")
        await asyncio.sleep(0.5)  # the first list refresh is on its way (and slow)
        assert (await teammate.patch(url, json={"status": "resolved"})).status_code == 200
    await expect(page.locator("#status-actions")).to_have_attribute("data-status", "resolved", timeout=8000)


async def test_an_actions_refresh_older_than_the_agents_change_is_not_shown(
    live_server, new_context, make_workspace
):
    """A refresh the agent's own click overtook carries the state from before the click: the
    header must not flip back to it (it would show 'open' until the next frame)."""
    ws = await make_workspace()
    said = await Customer(live_server, ws.inbox_token).say("환불 문의드려요")
    page = await _open_signed_in(live_server, new_context, ws, said["conversation_id"])
    await page.evaluate(
        """() => { window.__statuses = [];
        new MutationObserver(() => {
          const el = document.getElementById('status-actions');
          if (el) window.__statuses.push(el.getAttribute('data-status'));
        }).observe(document.getElementById('conversation-actions'), {childList: true, subtree: true}); }"""
    )
    release = asyncio.Event()

    async def held_refresh(route):
        if route.request.method != "GET":
            await route.continue_()
            return
        response = await route.fetch()  # the server answers now, from the state before the click
        await release.wait()
        await route.fulfill(response=response)

    await page.route(re.compile(r".*/console/conversations/\d+/actions$"), held_refresh)
    async with _teammate(live_server, ws) as teammate:
        patched = await teammate.patch(
            f"/api/v1/conversations/{said['conversation_id']}", json={"priority": "high"}
        )
        assert patched.status_code == 200
    await page.wait_for_timeout(500)  # the frame's refresh is held
    await page.locator('#status-actions button[data-status="resolved"]').click()
    await expect(page.locator("#status-actions")).to_have_attribute("data-status", "resolved")
    release.set()
    await page.wait_for_timeout(1500)
    await expect(page.locator("#status-actions")).to_have_attribute("data-status", "resolved")
    statuses = await page.evaluate("window.__statuses")
    assert "open" not in statuses[statuses.index("resolved") :], statuses


async def test_a_shortcut_works_on_actions_htmx_has_not_wired_yet(live_server, new_context, make_workspace):
    """htmx swaps a refreshed header in and wires its buttons up a moment later (its settle
    step). An "e" pressed in between clicked a bare button, which did nothing: the shortcut
    must wire the button before it clicks it. The bare button is made here by copying it."""
    ws = await make_workspace()
    said = await Customer(live_server, ws.inbox_token).say("배송 문의드려요")
    page = await _open_signed_in(live_server, new_context, ws, said["conversation_id"])
    await page.evaluate(
        """() => { for (const b of document.querySelectorAll('#status-actions .status-button')) {
                     b.replaceWith(b.cloneNode(true)); }
                 const p = document.getElementById('priority-next'); p.replaceWith(p.cloneNode(true)); }"""
    )
    await page.keyboard.press("p")
    await expect(page.locator("#priority-select")).to_have_value("low")
    await page.evaluate(
        """() => { for (const b of document.querySelectorAll('#status-actions .status-button')) {
                     b.replaceWith(b.cloneNode(true)); } }"""
    )
    await page.keyboard.press("e")
    await expect(page.locator("#status-actions")).to_have_attribute("data-status", "resolved")
