"""The bot in Chromium, the issue's scenario: a visitor on a shop's page (another origin) asks a
Korean FAQ question in the widget, gets the article's answer with its link and "도움이 되었나요?",
says it did not help and is handed to a person; the agent console shows the bot transcript, the
agent answers and the visitor sees it. And the other way: "네, 도움이 됐어요" is a confirmed
resolution, as the REST API reports it."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import expect

from sodam.channels.hours import ALWAYS_OPEN
from sodam.db.session import session_scope
from sodam.knowledge import service as knowledge
from tests.e2e.support import stored_messages
from tests.e2e.test_widget_browser import open_widget, send

pytestmark = pytest.mark.browser

QUESTION = "배송기간 얼마나 걸려요?"
YES = "네, 도움이 됐어요"
NO = "아니요, 상담원과 연결해 주세요"
AGENT_ANSWER = "확인해 보니 내일 도착 예정입니다. 기다려 주셔서 감사합니다."
BOT_TIMEOUT = 20_000  # the bot answers from a background job


async def bot_workspace(host_site, make_workspace, **settings):
    # lead_capture off: the handoff must not depend on the hour the suite runs at.
    ws = await make_workspace(
        allowed_origins=[host_site.origin],
        company_name="소담 쇼핑",
        bot_enabled=True,
        lead_capture="off",
        business_hours=ALWAYS_OPEN,  # the promised wait must not depend on the hour either
        **settings,
    )
    async with session_scope() as session:
        shipping = await knowledge.create_article(
            session,
            workspace_id=ws.workspace_id,
            title="배송 기간 안내",
            locale="ko",
            status="published",
            body="주문 후 평균 2~3일(영업일 기준) 안에 도착합니다.",
            alternate_questions=[QUESTION, "언제 도착하나요?"],
        )
        await knowledge.create_article(
            session,
            workspace_id=ws.workspace_id,
            title="환불 신청 방법",
            locale="ko",
            status="published",
            body="마이페이지 > 주문 내역에서 환불 신청 버튼을 눌러 주세요.",
            alternate_questions=["환불해주세요"],
        )
        return ws, shipping.id


async def signed_in_agent(new_context, live_server, ws):
    """A console page of the workspace's agent, signed in."""
    agent = await (await new_context()).new_page()
    await agent.goto(f"{live_server.url}/console/login")
    await agent.locator("input[name=email]").fill(ws.agent_email)
    await agent.locator("input[name=password]").fill(ws.agent_password)
    await agent.locator("button[type=submit]").click()
    await expect(agent).not_to_have_url(f"{live_server.url}/console/login")
    await agent.wait_for_load_state("load")  # its deferred scripts have run
    return agent


async def ask_and_get_the_answer(page, ws, article_id: int):
    """The question goes out; the bot's answer (article card) and "도움이 되었나요?" come back."""
    await send(page, QUESTION)
    await expect(page.locator("#sodam-messages .msg.mine")).to_have_attribute("data-status", "sent")
    bots = page.locator("#sodam-messages .msg.bot")
    await expect(bots).to_have_count(2, timeout=BOT_TIMEOUT)
    answer, helpful = bots.nth(0), bots.nth(1)
    await expect(answer.locator(".sender")).to_contain_text("챗봇")
    await expect(answer.locator(".sender svg.bot-icon")).to_have_count(1)
    await expect(answer.locator(".msg-body")).to_contain_text("2~3일")
    card = answer.locator(".card")
    await expect(card.locator("strong")).to_have_text("배송 기간 안내")
    link = card.locator("a")
    await expect(link).to_have_text("도움말 보기")
    await expect(link).to_have_attribute("href", re.compile(rf"/help/{ws.slug}/articles/{article_id}$"))
    await expect(link).to_have_attribute("target", "_blank")
    await expect(link).to_have_attribute("rel", "noopener noreferrer")
    await expect(helpful.locator(".msg-body")).to_have_text("도움이 되었나요?")
    buttons = helpful.locator(".quick-replies button")
    await expect(buttons).to_have_text([YES, NO])
    for i in range(2):
        await expect(buttons.nth(i)).to_be_enabled()
    return buttons


async def test_not_helpful_hands_off_to_an_agent_who_sees_the_transcript(
    live_server, host_site, new_context, make_workspace
):
    ws, article_id = await bot_workspace(host_site, make_workspace, prechat_form=True)
    page = await open_widget(await new_context(), host_site, ws)
    prechat = page.locator("#sodam-prechat")
    await prechat.locator("input[name=name]").fill("김소담")
    await prechat.locator("input[name=email]").fill("sodam.kim@example.com")
    await prechat.locator("button[type=submit]").click()
    await expect(prechat).to_be_hidden()
    buttons = await ask_and_get_the_answer(page, ws, article_id)
    await expect(page.locator("#sodam-waiting")).to_be_hidden()

    # "No": sent as the customer's own message, the buttons go inert, and a person takes over.
    await buttons.nth(1).click()
    for i in range(2):
        await expect(buttons.nth(i)).to_be_disabled()
    mine = page.locator("#sodam-messages .msg.mine")
    await expect(mine.locator(".msg-body")).to_have_text([QUESTION, NO])
    await expect(mine.nth(1)).to_have_attribute("data-status", "sent")
    handoff = page.locator("#sodam-messages .msg.bot").nth(2)
    await expect(handoff.locator(".msg-body")).to_contain_text("김소담님", timeout=BOT_TIMEOUT)
    # Two sentences: what happens, and when (the question travels in the agents' note).
    await expect(handoff.locator(".msg-body")).to_contain_text("곧 답변드리겠습니다")
    waiting = page.locator("#sodam-waiting")
    # The only conversation waiting for a person in this inbox; no reply-time data yet, so no ETA.
    await expect(waiting).to_have_text("상담원 연결 중 · 대기 순번 1번")

    # The agent opens it in the console: the question, the bot's answer and the handoff note.
    agent = await signed_in_agent(new_context, live_server, ws)
    await agent.goto(f"{live_server.url}/console?view=all&status=open")
    rows = agent.locator("#conversation-list [data-conversation-id]")
    await expect(rows).to_have_count(1)
    await rows.first.click()
    messages = agent.locator("#messages")
    await expect(messages.locator(".msg.msg-incoming .msg-body").first).to_have_text(QUESTION)
    await expect(messages.locator(".msg.msg-bot .msg-article").first).to_have_text("배송 기간 안내")
    await expect(messages.locator(".msg.msg-bot .msg-body", has_text="도움이 되었나요?")).to_have_count(1)
    await expect(messages.locator(".msg.msg-note .msg-body")).to_contain_text("[봇 인계]")
    await expect(messages.locator(".msg.msg-note .msg-body")).to_contain_text(QUESTION)

    # The agent answers; the visitor sees it live and the waiting bar goes away.
    await agent.locator("textarea#reply-box").fill(AGENT_ANSWER)
    await agent.locator("button#reply-send").click()
    reply = page.locator("#sodam-messages .msg.agent")
    await expect(reply.locator(".msg-body")).to_have_text(AGENT_ANSWER)
    await expect(waiting).to_be_hidden()

    # Resolved by the agent: the visitor gets a small notice.
    conversation_id = (await stored_messages(ws))[0].conversation_id
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as client:
        r = await client.patch(
            f"/api/v1/conversations/{conversation_id}",
            json={"status": "resolved"},
            headers={"Authorization": f"Bearer {ws.api_token}"},
        )
        assert r.status_code == 200, r.text
    await expect(page.locator("#sodam-resolved")).to_be_visible()
    await expect(page.locator("#sodam-resolved")).to_contain_text("상담이 종료되었습니다")
    assert page.errors == []


async def test_helpful_answer_is_a_confirmed_resolution(live_server, host_site, new_context, make_workspace):
    ws, article_id = await bot_workspace(host_site, make_workspace)
    page = await open_widget(await new_context(), host_site, ws)
    buttons = await ask_and_get_the_answer(page, ws, article_id)
    await buttons.nth(0).click()
    await expect(buttons.nth(0)).to_be_disabled()
    await expect(buttons.nth(0)).to_have_attribute("aria-pressed", "true")
    await expect(buttons.nth(1)).to_be_disabled()
    confirmed = page.locator("#sodam-messages .msg.bot").nth(2)
    await expect(confirmed.locator(".msg-body")).to_have_text(
        "해결되어 다행입니다! 더 필요하신 게 있으면 말씀해 주세요.", timeout=BOT_TIMEOUT
    )
    await expect(page.locator("#sodam-waiting")).to_be_hidden()

    conversation_id = (await stored_messages(ws))[0].conversation_id
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as client:
        r = await client.get(
            f"/api/v1/conversations/{conversation_id}/bot",
            headers={"Authorization": f"Bearer {ws.api_token}"},
        )
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "confirmed"

    # After a reload the answered quick replies stay inert (the customer already moved on).
    await page.reload()
    await expect(page.locator("#sodam-messages .msg.bot")).to_have_count(3)
    stale = page.locator("#sodam-messages .quick-replies button")
    await expect(stale).to_have_count(2)
    for i in range(2):
        await expect(stale.nth(i)).to_be_disabled()
    assert page.errors == []


async def test_bot_payloads_are_drawn_safely(host_site, new_context, make_workspace):
    """A payload is data, not markup: titles are text, only http(s) links become links."""
    from sodam.conversations import service as conversations
    from sodam.conversations.models import MessageKind, SenderType

    ws = await make_workspace(allowed_origins=[host_site.origin])
    page = await open_widget(await new_context(), host_site, ws)
    await send(page, "안녕하세요")
    await expect(page.locator("#sodam-messages .msg.mine")).to_have_attribute("data-status", "sent")
    conversation_id = (await stored_messages(ws))[0].conversation_id
    evil_title = '<img src=x onerror="window.__xss=1">'
    async with session_scope() as session:
        conversation = await conversations.get(
            session, workspace_id=ws.workspace_id, conversation_id=conversation_id
        )
        for url in ("javascript:window.__xss=2", "https://help.example.com/a/1"):
            await conversations.create_message(
                session,
                conversation=conversation,
                content="답변입니다",
                sender_type=SenderType.bot,
                sender_id=None,
                kind=MessageKind.bot,
                payload={
                    "article": {"id": 1, "title": evil_title, "url": url},
                    "quick_replies": [{"label": evil_title, "reply": "1"}, {"label": "no reply"}],
                },
            )
    bots = page.locator("#sodam-messages .msg.bot")
    await expect(bots).to_have_count(2)
    await expect(bots.nth(0).locator(".card")).to_have_count(0)
    await expect(bots.nth(1).locator(".card strong")).to_have_text(evil_title)
    await expect(bots.nth(1).locator(".card a")).to_have_attribute("href", "https://help.example.com/a/1")
    await expect(bots.nth(1).locator(".quick-replies button")).to_have_text([evil_title])
    assert await page.locator("#sodam-messages img").count() == 0
    assert await page.evaluate("window.__xss") is None
    assert page.errors == []


async def test_typed_feedback_is_a_reply_to_the_answer_and_only_then_is_it_human_work(
    live_server, host_site, new_context, make_workspace
):
    """ "그건 도움이 안 됐어요" after an answer: not a new question. The conversation is in the
    agents' queue (미배정) only after the handoff; before, it is under "봇 응대 중"."""
    ws, article_id = await bot_workspace(host_site, make_workspace)
    page = await open_widget(await new_context(), host_site, ws)
    await ask_and_get_the_answer(page, ws, article_id)

    agent = await signed_in_agent(new_context, live_server, ws)
    await agent.goto(f"{live_server.url}/console?view=unassigned&status=open")
    await expect(agent.locator("#conversation-list [data-conversation-id]")).to_have_count(0)
    await agent.goto(f"{live_server.url}/console?view=bot&status=open")
    await expect(agent.locator("#conversation-list [data-conversation-id]")).to_have_count(1)
    await expect(agent.locator("#conversation-list .badge-bot")).to_have_count(1)
    await expect(agent.locator("#conversation-list .sla")).to_have_count(0)

    await send(page, "그건 도움이 안 됐어요")
    bots = page.locator("#sodam-messages .msg.bot")
    await expect(bots).to_have_count(3, timeout=BOT_TIMEOUT)  # one article only: a person next
    await expect(bots.nth(2).locator(".msg-body")).to_contain_text("상담원이 이어서 도와드릴게요")
    await expect(page.locator("#sodam-waiting")).to_contain_text("대기 순번 1번")

    await agent.goto(f"{live_server.url}/console?view=unassigned&status=open")
    rows = agent.locator("#conversation-list [data-conversation-id]")
    await expect(rows).to_have_count(1)
    await rows.first.click()
    note = agent.locator("#messages .msg.msg-note .msg-body")
    await expect(note).to_contain_text(QUESTION)  # the customer's question, not the feedback
    await expect(note).not_to_contain_text("도움이 안 됐어요")
