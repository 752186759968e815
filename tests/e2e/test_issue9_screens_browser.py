"""The new settings screens in Chromium, ko and en, at 1280 and 390 px: the agent's public
profile on 내 계정, an inbox's identity verification, the attachment policy. Screenshots go to
.pytest_cache/screens/ for a person to look at; the test checks each renders its controls."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.test_console_helpers import add_agent

pytestmark = pytest.mark.browser
SCREENS = Path(__file__).resolve().parents[2] / ".pytest_cache" / "screens"


@pytest.mark.parametrize("locale", ["ko", "en"])
async def test_new_settings_screens(live_server, new_context, make_workspace, locale):
    from sodam.accounts.models import Role

    ws = await make_workspace()
    email, password = ws.agent_email, ws.agent_password
    if locale == "en":
        _id, email, password = await add_agent(ws, role=Role.admin, locale="en")
    SCREENS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page = await (await new_context(viewport={"width": width, "height": 900})).new_page()
        await page.goto(f"{live_server.url}/console/login")
        await page.locator("input[name=email]").fill(email)
        await page.locator("input[name=password]").fill(password)
        await page.locator("button[type=submit]").click()
        await expect(page).to_have_url(f"{live_server.url}/console")
        await page.goto(f"{live_server.url}/console/account")
        await expect(page.locator("#profile-form")).to_be_visible()
        await page.locator("#public-profile").screenshot(path=str(SCREENS / f"profile-{locale}-{width}.png"))
        await page.goto(f"{live_server.url}/console/settings/inboxes/{ws.inbox_id}")
        if width == 1280:
            await page.locator("#identity-rotate").click()
        await expect(page.locator("#identity-secret")).to_be_visible()
        await page.locator("#inbox-identity").screenshot(path=str(SCREENS / f"identity-{locale}-{width}.png"))
        await page.goto(f"{live_server.url}/console/settings/attachments")
        await expect(page.locator("#attachment-form")).to_be_visible()
        await page.screenshot(path=str(SCREENS / f"attachment-settings-{locale}-{width}.png"))
