"""The widget in a real Chromium, embedded on a page of another origin."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import expect

from sodam.channels.hours import ALWAYS_OPEN
from tests.e2e.support import agent_reply, stored_messages

pytestmark = pytest.mark.browser

QUESTION = "배송기간 얼마나 걸려요?"


async def open_widget(context, host_site, ws):
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # checked by tests: the widget must not throw
    await page.goto(host_site.page_url(ws.inbox_token))
    await page.locator("#sodam-launcher").click()
    await expect(page.locator("#sodam-panel")).to_be_visible()
    return page


async def send(page, text: str):
    await page.locator("#sodam-input").fill(text)
    await page.locator("#sodam-input").press("Enter")


async def test_visitor_sends_gets_a_live_reply_and_survives_a_reload(new_context, host_site, make_workspace):
    ws = await make_workspace(allowed_origins=[host_site.origin], company_name="소담 쇼핑", color="#2f9e44")
    page = await open_widget(await new_context(), host_site, ws)
    panel = page.locator("#sodam-panel")
    await expect(panel.locator("#sodam-company")).to_have_text("소담 쇼핑")
    # the header's promise: "곧 답변드리겠습니다" in the default hours (09:00–18:00 KST) with no
    # history yet, "…부터 답변드립니다" outside them — the test runs at any hour
    await expect(panel.locator("#sodam-reply-time")).to_contain_text(
        re.compile("답변드리겠습니다|답변드립니다")
    )
    await expect(panel.locator(".greeting")).to_contain_text("안녕하세요")

    await send(page, QUESTION)
    mine = page.locator("#sodam-messages .msg.mine")
    await expect(mine).to_have_count(1)
    await expect(mine).to_have_attribute("data-status", "sent")
    await expect(mine.locator(".msg-body")).to_have_text(QUESTION)
    await expect(mine.locator(".meta")).to_contain_text("전송됨")
    await expect(page.locator("#sodam-input")).to_have_value("")

    stored = await stored_messages(ws)
    assert [(m.content, m.sender_type.value) for m in stored] == [(QUESTION, "contact")]

    # The agent answers; it appears without a reload, with the agent's name.
    await agent_reply(ws, stored[0].conversation_id, "보통 2~3일 걸립니다. 주문번호를 알려 주세요.")
    reply = page.locator("#sodam-messages .msg.agent")
    await expect(reply.locator(".msg-body")).to_have_text("보통 2~3일 걸립니다. 주문번호를 알려 주세요.")
    await expect(reply.locator(".sender")).to_have_text(re.compile(r"^상담원 "))

    # The host page's CSS does not leak into the Shadow DOM.
    launcher_bg = await page.locator("#sodam-launcher").evaluate("b => getComputedStyle(b).backgroundColor")
    assert launcher_bg == "rgb(47, 158, 68)"
    body_color = await reply.locator(".msg-body").evaluate("e => getComputedStyle(e).color")
    assert body_color != "rgb(255, 0, 0)"

    # Reload: the same visitor, the same history, each message once; the panel stays open.
    await page.reload()
    await expect(page.locator("#sodam-panel")).to_be_visible()
    await expect(page.locator("#sodam-messages .msg.mine .msg-body")).to_have_text([QUESTION])
    await expect(page.locator("#sodam-messages .msg.agent .msg-body")).to_have_text(
        ["보통 2~3일 걸립니다. 주문번호를 알려 주세요."]
    )
    await expect(page.locator("#sodam-messages .msg.mine")).to_have_attribute("data-status", "sent")
    # And it is live again after the reload.
    await agent_reply(ws, stored[0].conversation_id, "확인되었습니다.")
    await expect(page.locator("#sodam-messages .msg.agent .msg-body")).to_have_count(2)
    await send(page, "감사합니다")
    await expect(page.locator("#sodam-messages .msg.mine[data-status=sent]")).to_have_count(2)
    assert len({m.conversation_id for m in await stored_messages(ws)}) == 1
    assert page.errors == []


async def test_agent_html_is_shown_as_text_never_run(new_context, host_site, make_workspace):
    ws = await make_workspace(allowed_origins=[host_site.origin])
    page = await open_widget(await new_context(), host_site, ws)
    await send(page, "안녕하세요")
    await expect(page.locator("#sodam-messages .msg.mine")).to_have_attribute("data-status", "sent")
    conversation_id = (await stored_messages(ws))[0].conversation_id

    img = '<img src=x onerror="window.__xss=1">'
    script = "<script>window.__xss=2</script>"
    await agent_reply(ws, conversation_id, img)
    await agent_reply(ws, conversation_id, script)
    bodies = page.locator("#sodam-messages .msg.agent .msg-body")
    await expect(bodies).to_have_text([img, script])
    assert await page.locator("#sodam-messages img, #sodam-messages script").count() == 0
    assert await page.evaluate("window.__xss") is None


async def test_prechat_form_answers_reach_the_contact(new_context, host_site, make_workspace):
    from sodam.contacts import service as contacts
    from sodam.db.session import session_scope

    ws = await make_workspace(allowed_origins=[host_site.origin], prechat_form=True)
    page = await open_widget(await new_context(), host_site, ws)
    form = page.locator("#sodam-prechat")
    await expect(form).to_be_visible()
    await expect(page.locator("#sodam-composer")).to_be_hidden()
    await form.locator("input[name=name]").fill("김소담")
    await form.locator("input[name=email]").fill("sodam.kim@example.com")
    await form.locator("button[type=submit]").click()
    await expect(form).to_be_hidden()
    await send(page, QUESTION)
    await expect(page.locator("#sodam-messages .msg.mine")).to_have_attribute("data-status", "sent")

    stored = await stored_messages(ws)
    async with session_scope() as session:
        contact = await contacts.get(session, workspace_id=ws.workspace_id, contact_id=stored[0].sender_id)
    assert (contact.name, contact.email) == ("김소담", "sodam.kim@example.com")

    # A returning visitor is not asked again.
    await page.reload()
    await expect(page.locator("#sodam-composer")).to_be_visible()
    await expect(form).to_be_hidden()


async def test_english_browser_gets_english_strings(new_context, host_site, make_workspace):
    ws = await make_workspace(allowed_origins=[host_site.origin], business_hours=ALWAYS_OPEN)
    page = await open_widget(await new_context(locale="en-US"), host_site, ws)
    await expect(page.locator("#sodam-launcher")).to_have_attribute("aria-label", "Open chat")
    await expect(page.locator("#sodam-input")).to_have_attribute("placeholder", "Type your message…")
    await expect(page.locator("#sodam-send")).to_have_text("Send")
    await expect(page.locator("#sodam-reply-time")).to_have_text("We'll reply shortly")
    await send(page, "How long does shipping take?")
    await expect(page.locator("#sodam-messages .msg.mine .meta")).to_contain_text("Sent")


async def test_over_long_text_is_refused_before_sending(new_context, host_site, make_workspace):
    ws = await make_workspace(allowed_origins=[host_site.origin])
    page = await open_widget(await new_context(), host_site, ws)
    await page.locator("#sodam-input").fill("가" * 10_001)
    await page.locator("#sodam-send").click()
    await expect(page.locator("#sodam-error")).to_have_text(
        "메시지가 너무 깁니다. 10000자 이하로 줄여 주세요."
    )
    await expect(page.locator("#sodam-messages .msg.mine")).to_have_count(0)
    assert await stored_messages(ws) == []
    # Trimmed to the limit it goes through, and the error goes away.
    await page.locator("#sodam-input").fill("가" * 10_000)
    await expect(page.locator("#sodam-error")).to_be_hidden()
    await page.locator("#sodam-send").click()
    await expect(page.locator("#sodam-messages .msg.mine")).to_have_attribute("data-status", "sent")


async def test_lost_ack_shows_connecting_and_resends_once(new_context, host_site, make_workspace):
    """The socket dies after the server stored the message but before the ack arrived: the
    widget shows 연결 중…, reconnects and resends with the same client_id; stored once."""
    ws = await make_workspace(allowed_origins=[host_site.origin])
    context = await new_context()
    connections = []

    async def flaky(route):
        server = route.connect_to_server()
        connections.append(route)
        first = len(connections) == 1

        def from_page(message):
            server.send(message)
            if first and '"type":"message"' in message:
                # Cut the line right after the send: the ack never reaches the page.
                server.on_message(lambda _m: None)
                asyncio.ensure_future(route.close(code=4000, reason="network lost"))

        route.on_message(from_page)

    page = await context.new_page()
    await page.route_web_socket(re.compile(r"/widget/v1/.*/ws"), flaky)
    await page.goto(host_site.page_url(ws.inbox_token))
    await page.locator("#sodam-launcher").click()
    await send(page, QUESTION)
    await expect(page.locator("#sodam-status")).to_have_text("연결 중…")
    await expect(page.locator("#sodam-messages .msg.mine")).to_have_attribute("data-status", "sent")
    await expect(page.locator("#sodam-status")).to_be_hidden()
    assert len(connections) >= 2
    await expect(page.locator("#sodam-messages .msg.mine")).to_have_count(1)
    stored = await stored_messages(ws)
    assert [m.content for m in stored] == [QUESTION]


async def test_http_fallback_when_the_socket_cannot_be_opened(new_context, host_site, make_workspace):
    """A proxy that refuses WebSockets: messages go out by HTTP POST and replies come by polling."""
    ws = await make_workspace(allowed_origins=[host_site.origin])
    context = await new_context()
    refused = []

    async def refuse(route):
        refused.append(route)
        await route.close(code=1011, reason="no websockets here")

    await context.route_web_socket(re.compile(r"/widget/v1/.*/ws"), refuse)
    page = await open_widget(context, host_site, ws)
    await expect(page.locator("#sodam-status")).to_have_text("연결 중…")
    await send(page, QUESTION)
    await expect(page.locator("#sodam-messages .msg.mine")).to_have_attribute("data-status", "sent")
    stored = await stored_messages(ws)
    assert [m.content for m in stored] == [QUESTION]
    await agent_reply(ws, stored[0].conversation_id, "HTTP로도 잘 도착합니다.")
    await expect(page.locator("#sodam-messages .msg.agent .msg-body")).to_have_text(
        ["HTTP로도 잘 도착합니다."], timeout=20_000
    )
    # It kept trying the socket meanwhile (the next try follows the poll that got the reply).
    for _ in range(100):
        if len(refused) >= 2:
            break
        await page.wait_for_timeout(100)
    assert len(refused) >= 2
    assert len(await stored_messages(ws)) == 2


async def test_fits_a_360px_phone(new_context, host_site, make_workspace):
    ws = await make_workspace(allowed_origins=[host_site.origin])
    context = await new_context(viewport={"width": 360, "height": 640}, is_mobile=True, has_touch=True)
    page = await context.new_page()
    await page.goto(host_site.page_url(ws.inbox_token))
    launcher = await page.locator("#sodam-launcher").bounding_box()
    assert launcher["x"] + launcher["width"] <= 360 and launcher["y"] + launcher["height"] <= 640
    await page.locator("#sodam-launcher").tap()
    panel = await page.locator("#sodam-panel").bounding_box()
    assert (panel["x"], panel["y"], panel["width"], panel["height"]) == (0, 0, 360, 640)
    for part in ("#sodam-input", "#sodam-send", ".close"):
        box = await page.locator(f"#sodam-panel {part}").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360 and box["y"] + box["height"] <= 640, part
    await send(page, "모바일에서도 잘 보여요")
    await expect(page.locator("#sodam-messages .msg.mine")).to_have_attribute("data-status", "sent")
    await page.locator("#sodam-panel .close").tap()
    await expect(page.locator("#sodam-panel")).to_be_hidden()
