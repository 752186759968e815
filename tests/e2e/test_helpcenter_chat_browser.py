"""The help center carries the chat widget of the inbox set for it; after 👎 on an article it
offers "상담원에게 문의하기", which opens the widget, and the question reaches the console."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from tests.knowledge.helpers import seed_kb
from tests.test_console_helpers import console_client, csrf_of

pytestmark = pytest.mark.browser
SCREENS = Path(__file__).resolve().parents[2] / ".pytest_cache" / "screens"


async def test_thumbs_down_offers_an_agent_and_opens_the_chat(live_server, make_workspace, new_context):
    # The inbox is limited to the shop's domain: its own help center is allowed all the same.
    ws = await make_workspace(allowed_origins=["https://shop.example.com"])
    ids = await seed_kb(ws.workspace_id)
    article = f"{live_server.url}/help/{ws.slug}/articles/{ids['ko:shipping']}"
    page = await (await new_context(viewport={"width": 390, "height": 800})).new_page()
    await page.goto(article)
    await expect(page.locator("#sodam-launcher")).to_have_count(0)  # not set for the help center yet

    admin = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        r = await admin.post(
            f"/console/settings/inboxes/{ws.inbox_id}/helpcenter",
            data={"enabled": "1", "csrf_token": csrf_of(admin)},
        )
        assert r.status_code == 200 and 'id="helpcenter-widget" checked' in r.text
    finally:
        await admin.aclose()
    # Another site still may not use the widget.
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        r = await client.post(
            f"/widget/v1/{ws.inbox_token}/session", json={}, headers={"Origin": "https://evil.example.net"}
        )
        assert r.status_code == 403

    await page.goto(article)
    await expect(page.locator("#sodam-launcher")).to_be_visible()
    await page.click("#vote-no")
    await expect(page.locator("#hc-ask-agent")).to_have_text("상담원에게 문의하기")
    await page.click("#hc-ask-agent")
    await expect(page.locator("#sodam-panel")).to_be_visible()
    await page.locator("#sodam-input").fill("배송 기간이 글과 달라요")
    await page.locator("#sodam-input").press("Enter")
    await expect(page.locator("#sodam-messages .msg.mine[data-status=sent]")).to_have_count(1)
    SCREENS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENS / "helpcenter-chat-ko-390.png"))
    api = {"Authorization": f"Bearer {ws.api_token}"}
    async with httpx.AsyncClient(base_url=live_server.url, headers=api) as client:
        convs = (await client.get("/api/v1/conversations")).json()["data"]
        assert [c["last_message_preview"] for c in convs] == ["배송 기간이 글과 달라요"]
        pages = await client.get(f"/api/v1/contacts/{convs[0]['contact_id']}")
        assert pages.status_code == 200
