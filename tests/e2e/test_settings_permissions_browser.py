"""The settings page by permission, in Chromium: a supervisor (teams.manage) finds Settings in
the rail, sees the teams and a read-only agent list, keeps a team by htmx and sees none of
the admin sections; an admin sees them all; an agent has no Settings link. Screenshots
(ko/en, desktop and 390 px) go to .pytest_cache/screens/ for a person to look at."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from sodam.accounts import service as accounts
from sodam.accounts.models import Role
from sodam.db.session import session_scope
from tests.e2e.test_privacy_browser import SIZES, set_locale, shoot
from tests.test_console_helpers import add_agent

pytestmark = pytest.mark.browser
ADMIN_SECTIONS = ("#inbox-table", "#agent-create", "#tokens-section", "#limits-section", "#privacy-section")


async def sign_in(page, live_server, email: str, password: str) -> None:
    await page.goto(f"{live_server.url}/console/login")
    await page.locator("input[name=email]").fill(email)
    await page.locator("input[name=password]").fill(password)
    await page.locator("form button[type=submit]").click()
    await expect(page).to_have_url(re.compile(r"/console$"))


async def settle(page) -> None:
    await page.wait_for_function("!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")


@pytest.mark.parametrize("locale", ["ko", "en"])
async def test_a_supervisor_keeps_teams_and_sees_only_that(live_server, make_workspace, new_context, locale):
    ws = await make_workspace()
    _id, email, password = await add_agent(ws, role=Role.supervisor, locale=locale)
    page = await (await new_context(viewport=SIZES["desktop"])).new_page()
    await sign_in(page, live_server, email, password)
    await page.locator("#nav-settings").click()
    await expect(page).to_have_url(f"{live_server.url}/console/settings")
    await expect(page.locator("#team-section")).to_be_visible()
    await expect(page.locator("#agent-table")).to_contain_text(ws.agent_email)  # read-only list
    for selector in (*ADMIN_SECTIONS, "#agent-table select", "#agent-table form"):
        await expect(page.locator(selector)).to_have_count(0)

    # htmx (a deferred script) must have taken over the forms first: on a slow machine a click
    # before that posts the form the classic way and reloads the page.
    await page.wait_for_load_state("load")
    await page.wait_for_function("window.htmx !== undefined")
    await page.evaluate("window.__noReload = true")
    team_name = "배송팀" if locale == "ko" else "Shipping"
    await page.locator("#team-create input[name=name]").fill(team_name)
    await page.locator("#team-create button[type=submit]").click()
    card = page.locator(".team-card", has_text=team_name)
    await expect(card).to_be_visible()
    await settle(page)
    await card.locator(f'input[name=agent_ids][value="{ws.agent_id}"]').check()
    await card.locator("button[type=submit]").first.click()
    await expect(page.locator("#team-notice")).to_be_visible()
    await settle(page)
    assert await page.evaluate("window.__noReload") is True
    async with session_scope() as session:
        (team,) = await accounts.list_teams(session, workspace_id=ws.workspace_id)
        assert await accounts.team_member_ids(session, workspace_id=ws.workspace_id, team_id=team.id) == [
            ws.agent_id
        ]
    await shoot(page, f"settings-supervisor-{locale}")


@pytest.mark.parametrize("locale", ["ko", "en"])
async def test_an_admin_sees_every_section_and_an_agent_no_settings(
    live_server, make_workspace, new_context, locale
):
    ws = await make_workspace()
    await set_locale(ws, locale)
    page = await (await new_context(viewport=SIZES["desktop"])).new_page()
    await sign_in(page, live_server, ws.agent_email, ws.agent_password)
    await page.locator("#nav-settings").click()
    for selector in (*ADMIN_SECTIONS, "#team-section", "#agent-table select"):
        await expect(page.locator(selector).first).to_be_visible()
    await shoot(page, f"settings-admin-{locale}")

    _id, email, password = await add_agent(ws, role=Role.agent, locale=locale)
    agent_page = await (await new_context(viewport=SIZES["desktop"])).new_page()
    await sign_in(agent_page, live_server, email, password)
    await expect(agent_page.locator("#nav-kb")).to_be_visible()
    await expect(agent_page.locator("#nav-settings")).to_have_count(0)
    await expect(agent_page.locator("#nav-bot")).to_have_count(0)
