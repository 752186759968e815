"""The bot's learning queue in Chromium: the rail shows the pending count, Accept swaps the
row in place (htmx with the CSRF header, no reload) and links the new draft's editor."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from sodam.accounts.models import Role
from tests.bot.test_learning import QUESTION, start

pytestmark = pytest.mark.browser


async def test_supervisor_accepts_a_draft_proposal(live_server, new_context, make_workspace):
    h = await start(make_workspace, role=Role.supervisor)
    assert await h.learn(await h.agent("현재 해외 주문은 받지 않습니다.")) == "proposed_draft"
    (proposal,) = await h.proposals()

    page = await (await new_context()).new_page()
    await page.goto(f"{live_server.url}/console/login")
    await page.locator("input[name=email]").fill(h.ws.agent_email)
    await page.locator("input[name=password]").fill(h.ws.agent_password)
    await page.locator("button[type=submit]").click()
    await expect(page).to_have_url(f"{live_server.url}/console")
    await expect(page.locator("#nav-bot #bot-pending-count")).to_have_text("1")  # loaded by htmx

    await page.locator("#nav-bot").click()
    await expect(page).to_have_url(f"{live_server.url}/console/bot/proposals")
    row = page.locator(f"#proposal-{proposal.id}")
    await expect(row.locator(".proposal-question")).to_have_text(QUESTION)
    await expect(row.locator(".proposal-answer")).to_contain_text("현재 해외 주문은 받지 않습니다.")
    await page.evaluate("window.__noReload = true")
    await row.get_by_role("button", name="수락").click()
    await expect(row).to_have_attribute("data-status", "accepted")
    assert await page.evaluate("window.__noReload") is True

    (accepted,) = await h.proposals()
    assert accepted.status == "accepted" and accepted.article_id
    await row.locator(".proposal-edit").click()
    await expect(page).to_have_url(f"{live_server.url}/console/kb/articles/{accepted.article_id}")
    await expect(page.locator("input[name=title]")).to_have_value(QUESTION)
