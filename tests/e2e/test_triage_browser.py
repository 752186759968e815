"""Priority by keyboard and snooze in Chromium: `p` raises the open conversation's priority
(shown in the header and the list), a snoozed conversation opens again when the customer
writes."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.browser
SCREENS = Path(__file__).resolve().parents[2] / ".pytest_cache" / "screens"


async def test_priority_by_keyboard_and_snooze_until_the_customer_writes(
    live_server, new_context, make_workspace
):
    ws = await make_workspace()
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        token = (await client.post(f"/widget/v1/{ws.inbox_token}/session", json={"locale": "ko"})).json()[
            "visitor_token"
        ]

        async def say(text):
            r = await client.post(
                f"/widget/v1/{ws.inbox_token}/messages",
                json={"content": text, "client_id": str(uuid.uuid4())},
                headers={"X-Sodam-Visitor": token},
            )
            return r.json()

        first = await say("환불 요청드립니다")
        page = await (await new_context(viewport={"width": 1280, "height": 800})).new_page()
        await page.goto(f"{live_server.url}/console/login")
        await page.locator("input[name=email]").fill(ws.agent_email)
        await page.locator("input[name=password]").fill(ws.agent_password)
        await page.locator("button[type=submit]").click()
        await page.goto(f"{live_server.url}/console/conversations/{first['conversation_id']}")
        await expect(page.locator("#live-status")).to_have_attribute("data-state", "connected")
        select = page.locator("#priority-select")
        await expect(select).to_have_value("none")
        await page.locator("body").press("p")
        await expect(select).to_have_value("low")
        await page.locator("body").press("p")
        await expect(select).to_have_value("medium")
        await page.locator("body").press("p")
        await expect(select).to_have_value("high")
        row = page.locator(f'#conversation-list [data-conversation-id="{first["conversation_id"]}"]')
        await expect(row.locator(".priority-badge")).to_have_text("높음")
        await expect(page.locator("#messages .msg-event").last).to_contain_text("'높음'으로")
        # The menu works too.
        await select.select_option("urgent")
        await expect(row.locator(".priority-badge")).to_have_text("긴급")

        await page.locator("#snooze-open").click()
        await page.locator('#snooze-form [data-snooze="tomorrow"]').click()
        await expect(page.locator("#status-actions")).to_have_attribute("data-status", "snoozed")
        await expect(page.locator("#snoozed-until")).to_contain_text("09:00까지")
        SCREENS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENS / "triage-console-ko-1280.png"))
        await say("아직 답변이 없네요")
        await expect(page.locator("#status-actions")).to_have_attribute("data-status", "open")
        await expect(page.locator("#snoozed-until")).to_have_count(0)
        await page.set_viewport_size({"width": 390, "height": 800})
        await page.screenshot(path=str(SCREENS / "triage-console-ko-390.png"))
