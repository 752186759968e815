"""Agents and teams in the console settings, in Chromium: forms swap the section in place
(htmx, CSRF header, no reload), and a refused change is explained where it was made."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from sodam.accounts import service as accounts
from sodam.db.session import session_scope

pytestmark = pytest.mark.browser


async def test_admin_builds_a_team_and_is_told_why_a_change_is_refused(
    live_server, new_context, make_workspace
):
    ws = await make_workspace()
    page = await (await new_context()).new_page()
    await page.goto(f"{live_server.url}/console/login")
    await page.locator("input[name=email]").fill(ws.agent_email)
    await page.locator("input[name=password]").fill(ws.agent_password)
    await page.locator("button[type=submit]").click()
    await expect(page).to_have_url(f"{live_server.url}/console")
    await page.goto(f"{live_server.url}/console/settings")
    await page.evaluate("window.__noReload = true")

    form = page.locator("#agent-create")
    await form.locator("input[name=name]").fill("박상담")
    await form.locator("input[name=email]").fill(f"park@{ws.slug}.test")
    await form.locator("input[name=password]").fill("temporary-pass")
    await form.get_by_role("button", name="상담원 추가").click()
    await expect(page.locator("#team-notice")).to_contain_text("상담원을 추가했습니다")
    await expect(page.locator("#agent-table")).to_contain_text("박상담")

    await page.locator("#team-create input[name=name]").fill("배송팀")
    await page.locator("#team-create").get_by_role("button", name="팀 추가").click()
    await expect(page.locator("#team-notice")).to_have_text("팀을 추가했습니다.")
    await page.wait_for_function("!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    card = page.locator(".team-card", has_text="배송팀")
    await card.get_by_label("박상담").check()
    await card.get_by_role("button", name="팀원 저장").click()
    await expect(page.locator("#team-notice")).to_have_text("저장했습니다.")

    # Demoting the only admin: refused, and the section says what to do instead. (First let
    # htmx finish wiring the swapped-in section, as a person's pause would.)
    await page.wait_for_function("!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    me = page.locator(f'tr[data-agent-id="{ws.agent_id}"] select[name=role]')
    await me.select_option("agent")
    await expect(page.locator("#team-error")).to_contain_text("먼저 다른 분을 관리자로 지정해 주세요")
    await expect(page.locator(f'tr[data-agent-id="{ws.agent_id}"] select[name=role]')).to_have_value("admin")
    assert await page.evaluate("window.__noReload") is True

    async with session_scope() as session:
        (team,) = await accounts.list_teams(session, workspace_id=ws.workspace_id)
        members = await accounts.team_member_ids(session, workspace_id=ws.workspace_id, team_id=team.id)
        park = await accounts.get_agent_by_email(session, email=f"park@{ws.slug}.test")
        me_now = await accounts.get_agent(session, workspace_id=ws.workspace_id, agent_id=ws.agent_id)
    assert team.name == "배송팀" and members == [park.id]
    assert me_now.role.value == "admin"
