"""A video call between two Chromium instances with fake camera and microphone: the customer's
widget (on a shop's page, another origin) and the agent's console. The agent calls from the
conversation, the customer sees the prompt and accepts; media flows both ways (getStats
bytesReceived > 0), mute disables the agent's sending track and the customer sees it, the call
ends and is on the conversation and the contact's timeline; screen share replaces the camera track;
a second customer (English) declines, then opens the ask-for-a-call panel. Screenshots (ko/en, 1280/390) of
the incoming-call prompt and the console's call window go to .pytest_cache/screens/."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import async_playwright, expect
from sqlalchemy import select

from sodam.calls.models import WebCall
from sodam.conversations.models import Conversation
from sodam.db.session import session_scope
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, HAVE_CHROMIUM
from tests.e2e.test_privacy_browser import SIZES, set_locale, sign_in

pytestmark = pytest.mark.browser

FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]

BYTES_RECEIVED = """async (pc) => {
  if (!pc) return 0;
  const stats = await pc.getStats();
  let n = 0;
  stats.forEach((s) => { if (s.type === 'inbound-rtp') n += s.bytesReceived || 0; });
  return n;
}"""


async def _received(page, pc_expr: str) -> int:
    return await page.evaluate(f"() => ({BYTES_RECEIVED})({pc_expr})")


async def test_a_video_call_between_widget_and_console(live_server, host_site, make_workspace):
    if not HAVE_CHROMIUM:
        pytest.skip("no /usr/bin/chromium")
    ws = await make_workspace(
        allowed_origins=[host_site.origin], company_name="소담 쇼핑", calls_request=True
    )
    async with async_playwright() as p:
        launch = {"executable_path": str(CHROMIUM), "headless": True, "args": CHROMIUM_ARGS + FAKE_MEDIA}
        customer_browser = await p.chromium.launch(**launch)
        agent_browser = await p.chromium.launch(**launch)
        try:
            customer_ctx = await customer_browser.new_context(locale="ko-KR", viewport=SIZES["390"])
            agent_ctx = await agent_browser.new_context(locale="ko-KR", viewport=SIZES["desktop"])
            for ctx in (customer_ctx, agent_ctx):
                ctx.set_default_timeout(15_000)
            # the customer writes in the widget (a phone-sized screen)
            customer = await customer_ctx.new_page()
            await customer.goto(host_site.page_url(ws.inbox_token))
            await customer.locator("#sodam-launcher").click()
            await customer.locator("#sodam-input").fill("화면을 보면서 설명을 듣고 싶어요")
            await customer.locator("#sodam-input").press("Enter")
            await expect(customer.locator("#sodam-messages .msg.mine")).to_have_count(1)
            conv = await _conversation(ws)
            # the agent opens the conversation and calls
            agent = await agent_ctx.new_page()
            await sign_in(agent, live_server, ws)
            await agent.goto(f"{live_server.url}/console/conversations/{conv}")
            await expect(agent.locator("#call-start-video")).to_be_visible()
            await agent.wait_for_function("window.htmx !== undefined && window.SodamCall !== undefined")
            await agent.locator("#call-start-video").click()
            await expect(agent.locator("#call-window")).to_be_visible()
            # the customer is asked, in Korean, and accepts
            prompt = customer.locator("#sodam-call-prompt")
            await expect(prompt).to_be_visible()
            await expect(customer.locator("#sodam-call-incoming")).to_contain_text("영상 통화를 요청합니다")
            await customer.screenshot(path=str(_screen("call-incoming-ko-390")))
            await customer.set_viewport_size(SIZES["desktop"])
            await customer.screenshot(path=str(_screen("call-incoming-ko-desktop")))
            await customer.set_viewport_size(SIZES["390"])
            await customer.locator("#sodam-call-accept").click()
            # connected on both sides, media flowing both ways
            await expect(agent.locator("#call-state")).to_contain_text("통화 중", timeout=20_000)
            await expect(customer.locator("#sodam-call-state")).to_contain_text("통화 중", timeout=20_000)
            await agent.wait_for_function(
                f"() => ({BYTES_RECEIVED})(window.SodamCall.state.pc).then((n) => n > 0)", polling=250
            )
            await customer.wait_for_function(
                f"() => ({BYTES_RECEIVED})(window.__sodamCall.pc).then((n) => n > 0)", polling=250
            )
            assert await _received(agent, "window.SodamCall.state.pc") > 0
            assert await _received(customer, "window.__sodamCall.pc") > 0
            # the agent mutes: their sending audio track is disabled, the customer is told
            await agent.locator("#call-mute").click()
            await expect(agent.locator("#call-mute")).to_have_attribute("aria-pressed", "true")
            sending = await agent.evaluate(
                "() => window.SodamCall.state.pc.getSenders().filter((s) => s.track && s.track.kind === 'audio')"
                ".map((s) => s.track.enabled)"
            )
            assert sending == [False]
            await expect(customer.locator("#sodam-call-flags")).to_contain_text("마이크가 꺼져")
            await agent.locator("#call-mute").click()
            await expect(customer.locator("#sodam-call-flags")).not_to_contain_text("마이크가 꺼져")
            # screen share replaces the camera track in place (no renegotiation)
            before = await agent.evaluate(
                "() => window.SodamCall.state.pc.getSenders().find((s) => s.track && s.track.kind === 'video').track.id"
            )
            await agent.locator("#call-share").click()
            await expect(agent.locator("#call-share")).to_have_attribute("aria-pressed", "true")
            after = await agent.evaluate(
                "() => window.SodamCall.state.pc.getSenders().find((s) => s.track && s.track.kind === 'video').track.id"
            )
            assert after != before
            await expect(customer.locator("#sodam-call-flags")).to_contain_text("화면을 공유")
            await agent.locator("#call-share").click()
            await expect(customer.locator("#sodam-call-flags")).not_to_contain_text("화면을 공유")
            await agent.screenshot(path=str(_screen("call-console-ko-desktop")))
            await agent.set_viewport_size(SIZES["390"])
            await agent.screenshot(path=str(_screen("call-console-ko-390")))
            await agent.set_viewport_size(SIZES["desktop"])
            # the customer hangs up: both see the end, the call is completed and recorded
            await customer.locator("#sodam-call-end").click()
            await expect(customer.locator("#sodam-call-done")).to_contain_text("통화가 끝났습니다")
            await expect(agent.locator("#call-state")).to_contain_text("통화가 끝났습니다")
            await expect(agent.locator("#messages")).to_contain_text("영상 통화 · 완료")
            await expect(customer.locator("#sodam-messages")).to_contain_text("영상 통화 · 완료")
            async with session_scope() as session:
                call = await session.scalar(select(WebCall).where(WebCall.conversation_id == conv))
            assert (call.status, call.outcome, call.kind) == ("ended", "completed", "video")
            assert call.duration_s is not None and call.ended_by == "contact"
            contact_page = await agent_ctx.new_page()
            await contact_page.goto(f"{live_server.url}/console/contacts/{call.contact_id}")
            await expect(contact_page.locator(".tl-web_call")).to_contain_text("영상 통화")
            await expect(contact_page.locator(".tl-web_call")).to_contain_text("완료")
            # English: the agent's console and a customer whose browser speaks English
            await set_locale(ws, "en")
            en_ctx = await customer_browser.new_context(locale="en-US", viewport=SIZES["390"])
            en_customer = await en_ctx.new_page()
            await en_customer.goto(host_site.page_url(ws.inbox_token))
            await en_customer.locator("#sodam-launcher").click()
            await en_customer.locator("#sodam-input").fill("Can we talk on video?")
            await en_customer.locator("#sodam-input").press("Enter")
            await expect(en_customer.locator("#sodam-messages .msg.mine")).to_have_count(1)
            en_conv = await _conversation(ws, besides=conv)
            await agent.goto(f"{live_server.url}/console/conversations/{en_conv}")
            await agent.wait_for_function("window.htmx !== undefined")
            await agent.locator("#call-start-video").click()
            await expect(en_customer.locator("#sodam-call-incoming")).to_contain_text(
                "would like to start a video call"
            )
            await en_customer.screenshot(path=str(_screen("call-incoming-en-390")))
            await en_customer.set_viewport_size(SIZES["desktop"])
            await en_customer.screenshot(path=str(_screen("call-incoming-en-desktop")))
            await agent.screenshot(path=str(_screen("call-console-en-desktop")))
            await agent.set_viewport_size(SIZES["390"])
            await agent.screenshot(path=str(_screen("call-console-en-390")))
            # this customer declines: the agent is told, the call is recorded as declined
            await en_customer.locator("#sodam-call-decline").click()
            await expect(agent.locator("#call-state")).to_contain_text("The customer declined the call")
            await expect(en_customer.locator("#sodam-messages")).to_contain_text("Video call · declined")
            # the customer may ask for a call, now or at a booked time (the inbox allows it)
            await en_customer.set_viewport_size(SIZES["390"])
            await en_customer.locator("#sodam-call").click()
            await expect(en_customer.locator("#sodam-call-ask")).to_contain_text("Talk to an agent")
            await expect(en_customer.locator("#sodam-call-book")).to_be_enabled()
            await en_customer.screenshot(path=str(_screen("call-request-en-390")))
        finally:
            await customer_browser.close()
            await agent_browser.close()


async def _conversation(ws, besides: int | None = None) -> int:
    """The workspace's newest conversation (other than `besides`), once the widget's message is stored."""
    for _ in range(100):
        async with session_scope() as session:
            found = await session.scalar(
                select(Conversation.id)
                .where(Conversation.workspace_id == ws.workspace_id, Conversation.id != (besides or 0))
                .order_by(Conversation.id.desc())
            )
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError("the widget's message was not stored")


def _screen(name: str):
    from tests.e2e.test_privacy_browser import SCREENS

    SCREENS.mkdir(parents=True, exist_ok=True)
    return SCREENS / f"{name}.png"
