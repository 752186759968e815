"""In Chromium: a 매니저 turns on a seed journey from the gallery with one click, switches it
off and on in the list, edits it, and previews its reach (dry run) — in Korean and English, at
desktop and phone widths. SODAM_SHOTS=dir saves screenshots of each screen."""

from __future__ import annotations

import os

import pytest
from playwright.async_api import expect

from sodam.contacts import service as contacts
from sodam.db.session import session_scope

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("SODAM_SHOTS")


async def _shot(page, name: str) -> None:
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)  # noqa: ASYNC230 - a test's screenshot folder
        await page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


async def _signed_in(new_context, live_server, ws, *, locale: str, width: int):
    page = await (await new_context(locale=locale, viewport={"width": width, "height": 900})).new_page()
    await page.goto(f"{live_server.url}/console/login")
    await page.locator("input[name=email]").fill(ws.agent_email)
    await page.locator("input[name=password]").fill(ws.agent_password)
    await page.locator("button[type=submit]").click()
    await expect(page).not_to_have_url(f"{live_server.url}/console/login")
    # The console's language is the agent's preference (the rail's picker), not the browser's.
    async with page.expect_navigation():
        await page.evaluate(
            "l => { const s = document.querySelector('select[name=locale]'); s.value = l; s.form.submit(); }",
            locale[:2],
        )
    return page


async def test_templates_toggle_edit_and_dry_run(new_context, live_server, make_workspace):
    ws = await make_workspace()
    async with session_scope() as s:
        await contacts.create(s, workspace_id=ws.workspace_id, name="김소담", language="ko")
    page = await _signed_in(new_context, live_server, ws, locale="ko-KR", width=1280)
    await page.goto(f"{live_server.url}/console/automations")
    await expect(page.locator("#automations-page")).to_contain_text("아직 자동화 규칙이 없습니다")
    await page.locator("#automation-templates").click()
    await expect(page.locator("#template-welcome")).to_contain_text("환영 시리즈")
    await _shot(page, "templates-ko-1280")
    await page.locator("#use-inactive").click()
    row = page.locator("#automations-table tbody tr").first
    await expect(row).to_contain_text("휴면 고객 안부")
    await expect(row.locator("button.toggle")).to_have_text("켜짐")
    await _shot(page, "list-ko-1280")
    await row.locator("button.toggle").click()
    await expect(page.locator("#automations-table tbody tr").first.locator("button.toggle")).to_have_text(
        "꺼짐"
    )
    await page.locator("#automations-table tbody tr a").first.click()
    await expect(page.locator("#automation-edit")).to_be_visible()
    await page.wait_for_load_state("load")  # htmx has wired the buttons (deferred script)
    await page.locator("#automation-dry-run").click()
    await expect(page.locator("#dry-run-count")).to_contain_text("0명")
    await _shot(page, "edit-ko-1280")
    # A bad step typed as JSON (고급) is refused with the path, and what was typed stays.
    await page.locator("#automation-advanced summary").click()
    await page.locator("#automation-steps").fill('[{"type": "message", "text": {"ko": "안녕하세요"}}]')
    await page.locator("#automation-save").click()
    await expect(page.locator("#automation-error")).to_contain_text("steps[0].text.en")
    await expect(page.locator("#automation-steps")).to_have_value(
        '[{"type": "message", "text": {"ko": "안녕하세요"}}]'
    )
    for locale, width in (("en-US", 1280), ("ko-KR", 390), ("en-US", 390)):
        other = await _signed_in(new_context, live_server, ws, locale=locale, width=width)
        for path, name in (("", "list"), ("/templates", "templates"), ("/new", "edit")):
            await other.goto(f"{live_server.url}/console/automations{path}")
            await expect(other.locator("section.page")).to_be_visible()
            if locale.startswith("en"):
                await expect(other.locator("h1")).not_to_contain_text("자동화")
            await _shot(other, f"{name}-{locale[:2]}-{width}")
