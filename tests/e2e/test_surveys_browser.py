"""In Chromium: a resolved widget conversation shows the CSAT question as a card; the customer
taps one star and writes a comment; the team's 매니저, signed in to the console, sees the
escalation appear live and opens the urgent conversation with the screen pop. Screenshots
(ko/en, 1280 and 390 px) of every new screen go to .pytest_cache/screens/ (or SODAM_SHOTS_DIR)."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import pytest
from playwright.async_api import expect

from sodam.accounts import service as accounts
from sodam.accounts.models import Role
from sodam.db.session import session_scope
from tests.e2e.support import stored_messages
from tests.e2e.test_widget_browser import open_widget, send
from tests.test_api_helpers import client
from tests.test_console_helpers import add_agent

pytestmark = pytest.mark.browser

# SODAM_SHOTS_DIR=/tmp/shots-surveys to look at them elsewhere.
SHOTS = Path(
    os.environ.get("SODAM_SHOTS_DIR") or Path(__file__).resolve().parents[2] / ".pytest_cache" / "screens"
)
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


async def shoot(page, name: str) -> None:
    await asyncio.to_thread(SHOTS.mkdir, parents=True, exist_ok=True)
    for label, size in SIZES.items():
        await page.set_viewport_size(size)
        await page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    await page.set_viewport_size(SIZES["desktop"])


async def sign_in_as(page, live_server, email: str, password: str) -> None:
    await page.goto(f"{live_server.url}/console/login")
    await page.locator("input[name=email]").fill(email)
    await page.locator("input[name=password]").fill(password)
    await page.locator("form button[type=submit]").click()
    await expect(page).to_have_url(re.compile(r"/console$"))


async def test_csat_card_one_star_escalates_live_to_the_manager(
    live_server, make_workspace, new_context, host_site
):
    ws = await make_workspace(allowed_origins=[host_site.origin], company_name="소담 쇼핑")
    sup_id, sup_email, sup_password = await add_agent(ws, role=Role.supervisor)
    async with session_scope() as session:
        team = await accounts.create_team(
            session, workspace_id=ws.workspace_id, name="배송팀", agent_ids=[sup_id]
        )
    async with client(live_server, ws.api_token) as api:
        survey = (
            await api.post(
                "/surveys",
                json={"name": "상담 만족도", "kind": "csat", "on_resolve_inbox_ids": [ws.inbox_id]},
            )
        ).json()

    manager = await (await new_context()).new_page()
    await sign_in_as(manager, live_server, sup_email, sup_password)
    await expect(manager.locator("#live-status")).to_have_attribute("data-state", "connected")

    customer = await open_widget(await new_context(), host_site, ws)
    await send(customer, "주문한 신발이 아직 안 왔어요")
    await expect(customer.locator('#sodam-messages .msg.mine[data-status="sent"]')).to_have_count(1)
    (message,) = [m for m in await stored_messages(ws) if m.sender_type.value == "contact"]
    async with client(live_server, ws.api_token) as api:
        await api.patch(f"/conversations/{message.conversation_id}", json={"team_id": team.id})
        r = await api.patch(f"/conversations/{message.conversation_id}", json={"status": "resolved"})
        assert r.status_code == 200

    card = customer.locator("#sodam-messages .survey")
    await expect(card.locator(".star")).to_have_count(5, timeout=30_000)
    await expect(customer.locator("#sodam-messages .msg.system .msg-body").last).to_have_text(
        "상담은 만족스러우셨나요?"
    )
    await shoot(customer, "widget-csat-card-ko")
    await card.locator('.star[data-score="1"]').click()
    await card.locator("textarea").fill("배송이 너무 늦고 연락도 없었어요")
    await card.locator(".go").click()
    await expect(card.locator(".done")).to_have_text("소중한 의견 감사합니다!")
    await expect(card.locator(".star.on")).to_have_count(1)
    await shoot(customer, "widget-csat-thanks-ko")
    assert customer.errors == []

    # The manager's console, without a reload: the escalation line appears.
    alert = manager.locator("#escalation-alerts .escalation-alert")
    await expect(alert).to_have_count(1, timeout=60_000)
    await expect(alert).to_contain_text("CSAT 1점")
    await expect(alert).to_contain_text(f"#{message.conversation_id}")
    # The list follows: the reopened conversation, urgent and tagged, without a reload.
    row = manager.locator(f'#conversation-list [data-conversation-id="{message.conversation_id}"]')
    await expect(row).to_contain_text("survey-escalation")
    await shoot(manager, "console-escalation-alert-ko")
    await alert.click()
    await expect(manager).to_have_url(re.compile(rf"/console/conversations/{message.conversation_id}$"))
    await expect(manager.locator("#messages .msg-note").last).to_contain_text("배송이 너무 늦고")
    notice = manager.locator('#security-notices [data-kind="survey_escalation"]')
    await expect(notice).to_contain_text(f"#{message.conversation_id}")
    pop = manager.locator("#screen-pop")
    await expect(pop.locator("#pop-csat")).to_contain_text("1")
    await expect(pop.locator("#pop-lifetime")).to_contain_text("1건")
    await shoot(manager, "console-escalated-conversation-ko")

    # The survey's page in the console shows the answer with its comment.
    await manager.goto(f"{live_server.url}/console/surveys/{survey['id']}")
    await expect(manager.locator("#answer-list .answer-comment")).to_have_text(
        "배송이 너무 늦고 연락도 없었어요"
    )
    await shoot(manager, "console-survey-detail-ko")


async def test_survey_screens_in_both_languages(live_server, make_workspace, new_context):
    """Screenshots of the public page (ko/en, expired), the surveys list, the feedback page."""
    ws = await make_workspace()
    async with client(live_server, ws.api_token) as api:
        nps = (await api.post("/surveys", json={"name": "추천 의향", "kind": "nps"})).json()
        await api.post(
            "/surveys", json={"name": "상담 만족도", "kind": "csat", "on_resolve_inbox_ids": [ws.inbox_id]}
        )
        await api.post(
            "/feedback/surveys",
            json={
                "name": "분기 직원 설문",
                "kind": "custom",
                "questions": [
                    {
                        "id": "q1",
                        "type": "likert",
                        "text": {"ko": "팀에서 존중받는다고 느낀다", "en": "I feel respected"},
                    },
                    {
                        "id": "q2",
                        "type": "text",
                        "required": False,
                        "text": {"ko": "하고 싶은 말", "en": "Anything else"},
                    },
                ],
            },
        )
        contact = (await api.post("/contacts", json={"name": "김설문"})).json()
        url = (await api.post(f"/surveys/{nps['id']}/send", json={"contact_ids": [contact["id"]]})).json()[
            "data"
        ][0]["url"]
    page = await (await new_context()).new_page()
    await page.goto(live_server.url + url)
    await expect(page.locator("#question-score .pill")).to_have_count(11)
    await shoot(page, "public-nps-ko")
    await page.goto(live_server.url + url + "?lang=en")
    await page.locator("#question-score .pill").nth(9).click()
    await page.locator("#survey-submit").click()
    await expect(page.locator("#survey-thanks")).to_have_text("Thank you")
    await shoot(page, "public-thanks-en")
    page_width = await page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= 1280
    await page.set_viewport_size(SIZES["phone"])
    await page.goto(live_server.url + url + "?lang=en")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling

    console = await (await new_context()).new_page()
    await sign_in_as(console, live_server, ws.agent_email, ws.agent_password)
    await console.goto(f"{live_server.url}/console/surveys")
    await expect(console.locator("#surveys-table tbody tr")).to_have_count(2)
    await shoot(console, "console-surveys-ko")
    await console.goto(f"{live_server.url}/console/feedback")
    await expect(console.locator("#feedback-promise")).to_be_visible()
    await shoot(console, "console-feedback-ko")
    await console.goto(f"{live_server.url}/console/contacts/{contact['id']}")
    await expect(console.locator("#contact-timeline .tl-survey_answer")).to_contain_text("추천 의향")
    await expect(console.locator("#screen-pop #pop-nps strong")).to_have_text("9")
    await shoot(console, "console-contact-timeline-ko")
    from tests.e2e.test_privacy_browser import set_locale

    await set_locale(ws, "en")
    await console.goto(f"{live_server.url}/console/surveys")
    await expect(console.locator("h1")).to_have_text("Surveys")
    await shoot(console, "console-surveys-en")
    await console.goto(f"{live_server.url}/console/feedback")
    await shoot(console, "console-feedback-en")
