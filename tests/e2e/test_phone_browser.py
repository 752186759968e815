"""In Chromium: a customer books a callback (전화 예약) from the widget; at the slot time the
durable job makes the callback task, routing gives it to the agent with phone skills, and
the agent sees it live in the console with the 전화 예약 badge and the number, and records
the outcome. Screenshots (ko/en, 1280 and 390 px) of the IVR editor, the widget's form and
the console's callback task go to SODAM_SHOTS_DIR (default .pytest_cache/screens/)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect
from sqlalchemy import select, text

from sodam.accounts.models import Role
from sodam.channels import service as inboxes
from sodam.channels.models import ChannelType
from sodam.db.session import session_scope
from sodam.hours.calendar import ALWAYS_OPEN
from sodam.routing import service as routing
from sodam.voice import service as voice
from sodam.voice.models import Callback
from tests.e2e.test_surveys_browser import shoot, sign_in_as
from tests.e2e.test_widget_browser import open_widget
from tests.test_api_helpers import client
from tests.test_console_helpers import add_agent
from tests.voice.helpers import TREE

pytestmark = pytest.mark.browser


async def _phone_line(ws) -> int:
    async with session_scope() as session:
        inbox = await inboxes.create(
            session,
            workspace_id=ws.workspace_id,
            name="대표번호 1588",
            channel_type=ChannelType.phone,
            settings={"auto_assign": True, "auto_reply": False, "business_hours": ALWAYS_OPEN},
        )
        await voice.line_of(session, inbox=inbox)
        await voice.save_line(
            session,
            workspace_id=ws.workspace_id,
            inbox_id=inbox.id,
            changes={"ivr": TREE, "number": "1588-1234"},
        )
        await inboxes.update(
            session,
            workspace_id=ws.workspace_id,
            inbox_id=ws.inbox_id,
            settings={"callback_inbox_id": inbox.id},
        )
        await routing.update_agent_routing(
            session, workspace_id=ws.workspace_id, agent_id=ws.agent_id, skills={"phone": 3}
        )
        await voice.create_announcement(
            session,
            workspace_id=ws.workspace_id,
            text_ko="현재 결제 장애가 있어 복구 중입니다.",
            text_en="Payments are down; we are fixing it.",
        )
        await session.commit()
        return inbox.id


async def test_a_callback_booked_in_the_widget_is_routed_to_the_agent_at_the_slot(
    live_server, make_workspace, new_context, host_site
):
    ws = await make_workspace(allowed_origins=[host_site.origin], company_name="소담 쇼핑")
    phone_inbox = await _phone_line(ws)
    agent = await (await new_context()).new_page()
    await sign_in_as(agent, live_server, ws.agent_email, ws.agent_password)
    await expect(agent.locator("#live-status")).to_have_attribute("data-state", "connected")

    customer = await open_widget(await new_context(viewport={"width": 390, "height": 844}), host_site, ws)
    await customer.locator("#sodam-callback").click()
    form = customer.locator("#sodam-callback-form")
    await expect(form).to_be_visible()
    await expect(form.locator("h2")).to_have_text("전화 예약")
    await form.locator("input[name=phone]").fill("010-7777-8888")
    first_label = await form.locator("#sodam-cb-slot option").first.text_content()
    await form.locator("textarea").fill("환불 절차가 궁금해요")
    await shoot(customer, "widget-callback-form-ko")
    await form.locator("#sodam-cb-submit").click()
    await expect(customer.locator("#sodam-cb-done")).to_be_visible()
    await expect(form).to_contain_text(first_label)
    await shoot(customer, "widget-callback-booked-ko")
    assert customer.errors == []
    # The confirmation also arrives as a message in the chat.
    await customer.locator("#sodam-callback-form .go").click()
    await expect(customer.locator("#sodam-messages .msg.system .msg-body").last).to_contain_text(
        "전화 예약이 접수되었습니다"
    )

    async with session_scope() as session:
        callback = await session.scalar(select(Callback).where(Callback.inbox_id == phone_inbox))
        assert callback.status == "scheduled" and callback.source == "widget"
        # The slot time arrives: the durable job scheduled for it becomes due now (the queue's
        # clock moved forward), and the server's job worker runs it.
        moved = await session.execute(
            text(
                "UPDATE procrastinate_jobs SET scheduled_at = now() WHERE task_name = 'voice.callback_due'"
                " AND args->>'callback_id' = :id AND status = 'todo'"
            ),
            {"id": str(callback.id)},
        )
        assert moved.rowcount == 1
        await session.commit()

    row = agent.locator("#conversation-list [data-conversation-id]").first
    await expect(row).to_be_visible(timeout=30_000)
    async with session_scope() as session:
        made = await session.get(Callback, callback.id)
        assert made.status == "due" and made.task_conversation_id is not None
    task_id = made.task_conversation_id
    await expect(agent.locator(f'[data-conversation-id="{task_id}"]').first).to_be_visible(timeout=30_000)
    await agent.goto(f"{live_server.url}/console/conversations/{task_id}")
    card = agent.locator(".phone-card[data-callback-id]")
    await expect(card.locator(".badge-callback")).to_have_text("전화 예약")
    await expect(card.locator(".phone-number")).to_have_text("010-7777-8888")
    await expect(agent.locator("#messages")).to_contain_text("환불 절차가 궁금해요")
    async with session_scope() as session:
        from sodam.conversations.models import Conversation

        task = await session.get(Conversation, task_id)
        assert task.assignee_id == ws.agent_id  # routed to the agent with phone skills
    await shoot(agent, "console-callback-task-ko")
    await card.locator(".callback-done").click()
    await expect(agent).to_have_url(re.compile(rf"/console/conversations/{task_id}$"))
    async with session_scope() as session:
        assert (await session.get(Callback, callback.id)).status == "done"


async def test_screens_of_the_ivr_editor_phone_page_and_callback_in_both_languages(
    live_server, make_workspace, new_context, host_site
):
    ws = await make_workspace(allowed_origins=[host_site.origin], company_name="소담 쇼핑")
    phone_inbox = await _phone_line(ws)
    _id, en_email, en_password = await add_agent(ws, role=Role.admin, locale="en")
    async with client(live_server, ws.api_token) as api:  # something to show on the phone page
        slots = (await api.get("/callbacks/slots", params={"inbox_id": phone_inbox})).json()["slots"]
        booked = await api.post(
            "/callbacks",
            json={
                "inbox_id": phone_inbox,
                "phone": "010-4444-5555",
                "slot_at": slots[2]["start"],
                "name": "박지호",
            },
        )
        assert booked.status_code == 201, booked.text
    for lang, (email, password) in {
        "ko": (ws.agent_email, ws.agent_password),
        "en": (en_email, en_password),
    }.items():
        page = await (await new_context()).new_page()
        await sign_in_as(page, live_server, email, password)
        await page.goto(f"{live_server.url}/console/settings/phone/{phone_inbox}")
        await expect(page.locator("#ivr-form .ivr-node")).to_have_count(4)  # three menus and a blank one
        await expect(page.locator(".ivr-zero").first).to_be_visible()
        await shoot(page, f"phone-ivr-editor-{lang}")
        # A menu that would take 0 away cannot be saved: the editor has no 0 row, and a typed
        # wrong target is refused with the problem named.
        await page.locator("input[name=node_0_opt_0_target]").fill("nowhere")
        await page.locator("#line-save").click()
        await expect(page.locator("#ivr-errors")).to_be_visible()
        await shoot(page, f"phone-ivr-editor-error-{lang}")
        await page.goto(f"{live_server.url}/console/settings/phone")
        await shoot(page, f"phone-settings-{lang}")
        await page.goto(f"{live_server.url}/console/phone")
        await shoot(page, f"phone-page-{lang}")
    # The widget's form in English at 390 px.
    customer = await new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    page = await open_widget(customer, host_site, ws)
    await page.locator("#sodam-callback").click()
    await expect(page.locator("#sodam-callback-form h2")).to_have_text("Book a call")
    await shoot(page, "widget-callback-form-en")


async def test_the_phone_page_and_a_voicemail_card_follow_a_call_live(
    live_server, make_workspace, new_context
):
    import httpx

    from tests.voice.helpers import Provider, gather_action, phone_inbox
    from tests.webhooks.helpers import api as api_client

    ws = await make_workspace()
    async with api_client(live_server, ws.api_token) as api:
        inbox_id, line = await phone_inbox(api)
        assert (await api.put(f"/api/v1/phone/lines/{inbox_id}", json={"ivr": TREE})).status_code == 200
    agent = await (await new_context()).new_page()
    await sign_in_as(agent, live_server, ws.agent_email, ws.agent_password)
    await agent.goto(f"{live_server.url}/console/phone?tab=voicemail")
    await expect(agent.locator("#live-status")).to_have_attribute("data-state", "connected")
    await expect(agent.locator("#voicemail-empty")).to_be_visible()

    # A caller leaves a voicemail: the shared box shows it without a reload.
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        call = Provider(http, line["webhook_url"], caller="+821055557777")
        doc = await call.twiml(gather_action(await call.twiml(line["webhook_url"])), Digits="4")
        recording = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE77"
        r = await call.post(doc.find("Record").get("action"), RecordingUrl=recording, RecordingDuration="65")
        assert r.status_code == 200, r.text
    entry = agent.locator("#voicemail-box li a").first
    await expect(entry).to_have_text("010-5555-7777", timeout=30_000)

    # In its conversation the card is the server's: the player and the length.
    await entry.click()
    card = agent.locator(".phone-card.voicemail")
    await expect(card.locator("audio")).to_have_attribute("src", recording)
    await expect(card).to_contain_text("1:05")
    conversation_id = int(agent.url.rsplit("/", 1)[1])
    message_id = await agent.locator("#messages .msg[data-message-id]", has=card).get_attribute(
        "data-message-id"
    )
    # The card console-phone.js fetches for a message that arrives live: the same HTML, and
    # only inside the workspace.
    got = await agent.request.get(
        f"{live_server.url}/console/conversations/{conversation_id}/phone-card?message={message_id}"
    )
    assert got.status == 200 and recording in await got.text()
    other = await make_workspace()
    stranger = await (await new_context()).new_page()
    await sign_in_as(stranger, live_server, other.agent_email, other.agent_password)
    refused = await stranger.request.get(
        f"{live_server.url}/console/conversations/{conversation_id}/phone-card?message={message_id}"
    )
    assert refused.status == 404
