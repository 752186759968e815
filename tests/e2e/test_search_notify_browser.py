"""In Chromium: a Korean search finds a message by a conjugated form and opens the conversation
at it; a notification fires for a conversation assigned by someone else and not for the
agent's own actions (the permission is asked only from the banner's button); "입력 중…"
shows on the other side and stops; the visitor sees "읽음" once the agent has read.
Screenshots (ko/en, 1280 and 390 px) go to .pytest_cache/screens/."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from sodam.conversations import service as conversations
from sodam.conversations.models import SenderType
from sodam.db.session import session_scope
from tests.e2e.test_privacy_browser import set_locale, shoot, sign_in
from tests.e2e.test_widget_browser import open_widget, send
from tests.test_console_helpers import add_agent, seed_conversation

pytestmark = pytest.mark.browser

# Desktop notifications and sounds, observed: the page's Notification and Audio.play are
# replaced by recorders before any script runs. The agent counts as "elsewhere" (no focus).
SPY = """
window.__notified = []; window.__played = 0; window.__asked = 0;
class FakeNotification {
  constructor(title, options) { window.__notified.push({ title, body: (options || {}).body || "" }); }
  close() {}
}
// Like a browser, the answer outlives the page.
FakeNotification.permission = localStorage.getItem("__permission") || "default";
FakeNotification.requestPermission = function (cb) {
  window.__asked += 1; FakeNotification.permission = "granted"; localStorage.setItem("__permission", "granted");
  if (cb) cb("granted"); return Promise.resolve("granted");
};
window.Notification = FakeNotification;
HTMLMediaElement.prototype.play = function () { window.__played += 1; return Promise.resolve(); };
document.hasFocus = function () { return false; };
"""


async def _customer_writes(ws, conversation_id: int, contact_id: int, text: str) -> None:
    async with session_scope() as session:
        conversation = await conversations.get(
            session, workspace_id=ws.workspace_id, conversation_id=conversation_id
        )
        await conversations.create_message(
            session,
            conversation=conversation,
            content=text,
            sender_type=SenderType.contact,
            sender_id=contact_id,
        )


async def test_korean_search_finds_a_conjugated_form_and_opens_at_it(
    live_server, make_workspace, new_context
):
    ws = await make_workspace()
    conversation_id, contact_id = await seed_conversation(
        ws, text="지난주에 산 운동화 환불하고 싶어요", name="김민지"
    )
    for i in range(40):  # the hit is far above the end of the conversation
        await _customer_writes(ws, conversation_id, contact_id, f"추가 문의 {i}번입니다")
    await seed_conversation(ws, text="배송이 늦어요", name="이서준")
    page = await (await new_context()).new_page()
    await sign_in(page, live_server, ws)
    await page.locator("#nav-search").click()
    await page.wait_for_url(re.compile(r"/console/search"))  # and its load: its scripts have run
    await page.locator("#search-q").fill("환불했어요")
    await page.locator("#search-submit").click()
    hits = page.locator("#search-results .search-hit")
    await expect(hits).to_have_count(1)
    await expect(hits.locator("mark")).to_have_text("환불")
    await expect(hits.locator(".hit-name")).to_have_text("김민지")
    await shoot(page, "search-results-ko")
    await hits.locator("a").click()
    await expect(page).to_have_url(re.compile(rf"/console/conversations/{conversation_id}\?message=\d+"))
    focused = page.locator("#messages .msg.msg-focus")
    await expect(focused).to_have_count(1)
    await expect(focused.locator(".msg-body")).to_have_text("지난주에 산 운동화 환불하고 싶어요")
    await expect(focused).to_be_in_viewport()
    # Nothing found says so; the English console too.
    await page.goto(f"{live_server.url}/console/search?q=존재하지않는낱말")
    await expect(page.locator("#search-empty")).to_be_visible()
    await set_locale(ws, "en")
    await page.goto(f"{live_server.url}/console/search?q=%ED%99%98%EB%B6%88")
    await expect(page.locator("h1")).to_have_text("Search conversations")
    await shoot(page, "search-results-en")
    await page.goto(f"{live_server.url}/console/search")
    await shoot(page, "search-empty-en")


async def test_notifications_for_others_actions_only(live_server, make_workspace, new_context):
    ws = await make_workspace()
    other_id, _email, _password = await add_agent(ws)
    waiting_id, _ = await seed_conversation(ws, text="상담 부탁드려요", name="박하늘")
    mine_id, mine_contact = await seed_conversation(ws, text="주문 취소할게요", name="최가을")
    context = await new_context()
    await context.add_init_script(SPY)
    page = await context.new_page()
    await sign_in(page, live_server, ws)
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "connected")
    # The permission is asked only when the agent presses the banner's button.
    banner = page.locator("#notify-banner")
    await expect(banner).to_be_visible()
    assert await page.evaluate("window.__asked") == 0
    await shoot(page, "notify-banner-ko")
    await page.locator("#notify-allow").click()
    await expect(banner).to_be_hidden()
    assert await page.evaluate("window.__asked") == 1
    base_title = await page.title()

    # Another agent assigns a conversation to me: sound, desktop notification, "(1)" in the title.
    async with session_scope() as session:
        await conversations.assign(
            session,
            workspace_id=ws.workspace_id,
            conversation_id=waiting_id,
            assignee_id=ws.agent_id,
            actor_id=other_id,
        )
    await page.wait_for_function("window.__notified.length === 1")
    assert (await page.evaluate("window.__notified"))[0]["title"] == "새 대화가 배정되었습니다"
    assert await page.evaluate("window.__played") == 1
    await expect(page).to_have_title(f"(1) {base_title}")

    # I take a conversation myself and reply in it: nothing (a fresh page, a fresh recorder).
    await page.goto(f"{live_server.url}/console/conversations/{mine_id}")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "connected")
    await page.locator("#assign-me").click()
    await expect(page.locator("#assignee-name")).to_have_text(re.compile(r"\S"))
    await page.locator("#reply-box").fill("네, 바로 취소해 드릴게요.")
    await page.locator("#reply-box").press("Enter")
    await expect(page.locator("#messages .msg-outgoing .msg-body").last).to_have_text(
        "네, 바로 취소해 드릴게요."
    )
    await page.wait_for_timeout(1500)
    assert await page.evaluate("[window.__notified.length, window.__played]") == [0, 0]
    # The customer answers in my conversation while I look at another page: announced.
    await page.goto(f"{live_server.url}/console")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "connected")
    await _customer_writes(ws, mine_id, mine_contact, "감사합니다!")
    await page.wait_for_function("window.__notified.length === 1")
    note = (await page.evaluate("window.__notified"))[0]
    assert note["title"] == "내 대화에 고객이 답했습니다" and note["body"] == "감사합니다!"
    await expect(page).to_have_title(re.compile(r"^\(\d\) "))


async def test_typing_both_ways_and_read_receipt(live_server, host_site, make_workspace, new_context):
    ws = await make_workspace(allowed_origins=[host_site.origin])
    widget = await open_widget(await new_context(), host_site, ws)
    await send(widget, "환불 문의드려요")
    mine = widget.locator("#sodam-messages .msg.mine")
    await expect(mine).to_have_attribute("data-status", "sent")
    async with session_scope() as session:
        (conversation,) = await conversations.list_(session, workspace_id=ws.workspace_id, limit=5)
    console = await (await new_context()).new_page()
    await sign_in(console, live_server, ws)
    await console.goto(f"{live_server.url}/console/conversations/{conversation.id}")
    await expect(console.locator("#live-status")).to_have_attribute("data-state", "connected")
    # The agent has read it: the visitor sees "읽음".
    await expect(mine).to_have_attribute("data-status", "read")
    await expect(mine.locator(".meta")).to_contain_text("읽음")

    # Visitor → console: shown while typing, gone when the box is cleared.
    await widget.locator("#sodam-input").press_sequentially("주문번호는", delay=40)
    indicator = console.locator("#typing-indicator")
    await expect(indicator).to_be_visible()
    await expect(indicator).to_have_text(re.compile("입력 중…"))
    await shoot(console, "typing-console-ko")
    await widget.locator("#sodam-input").fill("")
    await widget.locator("#sodam-input").dispatch_event("input")
    await expect(indicator).to_be_hidden()

    # Console → visitor: shown while the agent types a reply, gone when it arrives.
    typing = widget.locator("#sodam-typing")
    await console.locator("#reply-box").press_sequentially("확인해 드릴게요", delay=40)
    await expect(typing).to_be_visible()
    await expect(typing).to_have_text("상담원이 입력 중…")
    await console.locator("#reply-box").press("Enter")
    await expect(widget.locator("#sodam-messages .msg.agent .msg-body")).to_have_text("확인해 드릴게요")
    await expect(typing).to_be_hidden()
    # A private note is never announced to the customer.
    await console.locator("#reply-private").check()
    await console.locator("#reply-box").press_sequentially("내부 메모 작성 중", delay=40)
    await widget.wait_for_timeout(1500)
    await expect(typing).to_be_hidden()
    assert widget.errors == []


async def test_settings_page_and_kb_phrasing_keeps_the_body(live_server, make_workspace, new_context):
    from sodam.knowledge import service as knowledge

    ws = await make_workspace()
    async with session_scope() as session:
        article = await knowledge.create_article(
            session, workspace_id=ws.workspace_id, title="배송 조회", body="옛 본문"
        )
    page = await (await new_context()).new_page()
    await sign_in(page, live_server, ws)
    # The knowledge-base editor: a phrasing added after typing a new body keeps that body.
    await page.goto(f"{live_server.url}/console/kb/articles/{article.id}")
    await page.locator("#kb-body").fill("새 본문입니다. 아직 저장하지 않았어요.")
    await page.locator("#kb-question-text").fill("택배 어디쯤이에요")
    await page.locator("#kb-question-text").press("Enter")
    await expect(page.locator("#kb-notice")).to_be_visible()
    await expect(page.locator("#kb-body")).to_have_value("새 본문입니다. 아직 저장하지 않았어요.")
    await expect(page.locator(".kb-questions li")).to_contain_text(["택배 어디쯤이에요"])
    await page.locator("#kb-save").click()
    await expect(page.locator("#kb-saved")).to_be_visible()
    await expect(page.locator("#kb-body")).to_have_value("새 본문입니다. 아직 저장하지 않았어요.")
    await expect(page.locator("#kb-questions")).to_have_value("택배 어디쯤이에요")
    # The notification settings, ko and en.
    await page.goto(f"{live_server.url}/console/notifications")
    await page.locator("#notify-reply").uncheck()
    await page.locator("#notify-save").click()
    await expect(page.locator("#notify-saved")).to_be_visible()
    await expect(page.locator("#notify-reply")).not_to_be_checked()
    await shoot(page, "notify-settings-ko")
    await set_locale(ws, "en")
    await page.reload()
    await expect(page.locator("h1")).to_have_text("Notifications")
    await shoot(page, "notify-settings-en")
