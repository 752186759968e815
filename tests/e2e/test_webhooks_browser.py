"""Settings → 웹훅 in Chromium, ko and en, at 1280 and 390 px: an admin adds a webhook (the
secret is shown once), a failed delivery waits in the failed list, and 다시 보내기 delivers it
to a real receiver. Screenshots go to .pytest_cache/screens/ (or SODAM_SHOTS_DIR)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.test_console_helpers import add_agent
from tests.webhooks.helpers import api, api_inbox, open_conversation
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.browser
# Screenshots for a person to look at (SODAM_SHOTS_DIR=/tmp/shots-webhooks to put them there).
SHOTS = Path(
    os.environ.get("SODAM_SHOTS_DIR") or Path(__file__).resolve().parents[2] / ".pytest_cache" / "screens"
)
SHOTS.mkdir(parents=True, exist_ok=True)


async def _sign_in(page, live_server, email, password):
    await page.goto(f"{live_server.url}/console/login")
    await page.locator("input[name=email]").fill(email)
    await page.locator("input[name=password]").fill(password)
    await page.locator("button[type=submit]").click()
    await expect(page).to_have_url(f"{live_server.url}/console")


@pytest.mark.parametrize("locale", ["ko", "en"])
async def test_webhooks_page_adds_shows_failures_and_redelivers(
    live_server, new_context, make_workspace, locale
):
    from sodam.accounts.models import Role

    receiver = await Receiver(then=500).start()
    ws = await make_workspace()
    email, password = ws.agent_email, ws.agent_password
    if locale == "en":
        _id, email, password = await add_agent(ws, role=Role.admin, locale="en")
    async with api(live_server, ws.api_token) as client:
        inbox_id = await api_inbox(client, "카카오 상담 연동")
        page = await (await new_context(viewport={"width": 1280, "height": 900})).new_page()
        await _sign_in(page, live_server, email, password)
        await page.goto(f"{live_server.url}/console/settings")
        await page.locator("#webhooks-settings-link").click()
        await expect(page.locator("#webhook-create")).to_be_visible()
        await page.locator("#webhook-create input[name=url]").fill(receiver.url)
        await page.locator("#webhook-create input[name=description]").fill("주문 시스템")
        await page.locator("#webhook-create input[value='contact.created']").check()
        await page.locator("#webhook-create button[type=submit]").click()
        secret = page.locator("#webhook-secret-value")
        await expect(secret).to_contain_text("whsec_")
        await page.locator("#webhook-new summary").click()
        await page.screenshot(path=str(SHOTS / f"webhooks-new-{locale}-1280.png"), full_page=True)
        await page.locator("#webhook-new summary").click()
        # A callback URL for the API inbox, from the same form.
        await page.locator("#webhook-new summary").click()
        await page.locator("#webhook-create input[name=url]").fill(receiver.url + "/callback")
        await page.locator("#webhook-create select[name=inbox_id]").select_option(str(inbox_id))
        await page.locator("#webhook-create button[type=submit]").click()
        await expect(page.locator("#webhooks-table tbody tr")).to_have_count(2)
        # Shown once: after a reload, no secret anywhere on the page.
        await page.reload()
        await expect(page.locator("#webhook-secret")).to_have_count(0)

        await open_conversation(client, inbox_id, source_id=f"shot-{locale}")
        await receiver.wait_for(lambda: len(receiver.requests) >= 4)  # 4 tries, then dead
        await asyncio.sleep(0.5)
        await page.goto(f"{live_server.url}/console/settings/webhooks?show=dead")
        dead = page.locator("#webhook-deliveries tbody tr[data-status=dead]")
        await expect(dead).to_have_count(1)
        for width in (1280, 390):
            await page.set_viewport_size({"width": width, "height": 900})
            await page.screenshot(path=str(SHOTS / f"webhooks-{locale}-{width}.png"), full_page=True)

        receiver.then = 200
        await dead.first.locator(".webhook-redeliver").click()
        await receiver.wait_for(lambda: len(receiver.processed) == 1)
        delivered = page.locator("#webhook-deliveries tbody tr[data-status=delivered]")
        for _ in range(50):  # the worker records the answer a moment after the receiver has it
            await page.goto(f"{live_server.url}/console/settings/webhooks")
            if await delivered.count() == 1:
                break
            await asyncio.sleep(0.2)
        await expect(delivered).to_have_count(1)
    await receiver.stop()
