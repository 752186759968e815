"""In Chromium: a 매니저 turns on a seed journey, opens it in the rule builder (no JSON), shortens
its wait from 3 days to 2, rewrites the Korean copy, adds a condition row (language is Korean),
saves and sees it all again after a reload; an empty English text is refused at that field.
Then the workspace's automation settings (daily cap, quiet hours, time zone), with a bad value
refused at its field. SODAM_SHOTS=dir saves screenshots (ko/en, 1280/390 px)."""

from __future__ import annotations

import os

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from sodam.accounts.models import Role
from sodam.automations import service
from sodam.automations.models import Rule
from sodam.db.session import session_scope

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("SODAM_SHOTS")
NEW_KO = "{{contact.first_name}}님, 소담에 오신 것을 환영합니다!"


async def _shot(page, name: str) -> None:
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)  # noqa: ASYNC230 - a test's screenshot folder
        # The console's page scrolls inside itself: grow the window to show all of it.
        size = page.viewport_size
        tall = await page.evaluate("document.querySelector('section.page').scrollHeight")
        await page.set_viewport_size({"width": size["width"], "height": max(size["height"], tall)})
        await page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)
        await page.set_viewport_size(size)


async def _signed_in(new_context, live_server, ws, *, locale: str, width: int):
    page = await (await new_context(locale=locale, viewport={"width": width, "height": 900})).new_page()
    await page.goto(f"{live_server.url}/console/login")
    await page.locator("input[name=email]").fill(ws.agent_email)
    await page.locator("input[name=password]").fill(ws.agent_password)
    await page.locator("button[type=submit]").click()
    await expect(page).not_to_have_url(f"{live_server.url}/console/login")
    async with page.expect_navigation():
        await page.evaluate(
            "l => { const s = document.querySelector('select[name=locale]'); s.value = l; s.form.submit(); }",
            locale[:2],
        )
    return page


async def _rules(ws_id: int) -> list[Rule]:
    async with session_scope() as s:
        return list(await s.scalars(select(Rule).where(Rule.workspace_id == ws_id).order_by(Rule.id)))


async def test_builder_edits_a_template_and_shows_errors_at_the_field(
    new_context, live_server, make_workspace
):
    ws = await make_workspace(role=Role.supervisor)
    page = await _signed_in(new_context, live_server, ws, locale="ko-KR", width=1280)
    await page.goto(f"{live_server.url}/console/automations/templates")
    await page.locator("#use-welcome").click()
    (rule,) = await _rules(ws.workspace_id)
    await page.locator(f"#automation-{rule.id} a").first.click()

    # The builder, not JSON: three step cards (message, wait 3 days, message), JSON folded away.
    cards = page.locator("#step-cards .step-card")
    await expect(cards).to_have_count(3)
    await expect(page.locator("#automation-advanced")).not_to_have_attribute("open", "")
    await expect(page.locator("#automation-steps")).to_be_hidden()
    wait = cards.nth(1)
    await expect(wait.locator(".s-type")).to_have_value("wait")
    await expect(wait.locator(".wait-amount")).to_have_value("3")
    await expect(wait.locator(".wait-unit")).to_have_value("days")
    # Only the chosen trigger's settings show (contact.created has none).
    await expect(page.locator("#cfg-days")).to_be_hidden()
    await _shot(page, "builder-ko-1280")

    await wait.locator(".wait-amount").fill("2")
    first = cards.nth(0)
    await first.locator("[data-part='text.ko']").fill("")
    await first.locator("[data-part='text.ko']").fill(NEW_KO.replace("{{contact.first_name}}", ""))
    # A placeholder is inserted where the caret is (here: the start of the Korean text).
    await first.locator("[data-part='text.ko']").press("Control+Home")
    await first.locator(".b-placeholder", has_text="{{contact.first_name}}").click()
    await expect(first.locator("[data-part='text.ko']")).to_have_value(NEW_KO)
    await page.locator("#condition-add").click()
    row = page.locator("#condition-rows .condition-row").first
    await expect(row.locator(".c-field")).to_have_value("contact.language")
    await expect(row.locator(".c-op")).to_have_value("in")
    await row.locator("label.b-chip", has_text="한국어").locator("input").check()
    await _shot(page, "builder-edited-ko-1280")
    await page.locator("#automation-save").click()
    await expect(page).to_have_url(f"{live_server.url}/console/automations?saved={rule.id}")

    (saved,) = await _rules(ws.workspace_id)
    assert saved.steps[1] == {"type": "wait", "days": 2}
    assert saved.steps[0]["text"]["ko"] == NEW_KO
    assert saved.steps[2] == rule.steps[2]  # untouched cards stay as they were
    assert saved.conditions == [{"field": "contact.language", "op": "in", "value": ["ko"]}]

    await page.goto(f"{live_server.url}/console/automations/{rule.id}")
    await page.reload()
    await expect(cards.nth(1).locator(".wait-amount")).to_have_value("2")
    await expect(cards.nth(0).locator("[data-part='text.ko']")).to_have_value(NEW_KO)
    row = page.locator("#condition-rows .condition-row").first
    await expect(row.locator(".c-field")).to_have_value("contact.language")
    await expect(row.locator("label.b-chip", has_text="한국어").locator("input")).to_be_checked()
    await expect(row.locator("label.b-chip", has_text="영어").locator("input")).not_to_be_checked()

    # Reordering and deleting cards: move the wait to the top, then take it away again.
    await cards.nth(1).locator(".s-up").click()
    await expect(cards.nth(0).locator(".s-type")).to_have_value("wait")
    await expect(cards.nth(0).locator(".s-number")).to_have_text("1단계")
    await cards.nth(0).locator(".s-down").click()
    await expect(cards.nth(1).locator(".s-type")).to_have_value("wait")

    # An empty English text: refused, and the mark and the reason sit at that very field.
    await cards.nth(0).locator("[data-part='text.en']").fill("")
    await page.locator("#automation-save").click()
    await expect(page.locator("#automation-error")).to_contain_text("steps[0].text.en")
    en = cards.nth(0).locator("[data-part='text.en']")
    await expect(en).to_have_attribute("aria-invalid", "true")
    await expect(en).to_be_focused()
    near = cards.nth(0).locator(".field-error")
    await expect(near).to_contain_text("steps[0].text.en")
    await expect(near).to_contain_text("이 항목을 확인해 주세요")
    # What was typed stays (the wait of 2 days, the new Korean copy); nothing was saved.
    await expect(cards.nth(1).locator(".wait-amount")).to_have_value("2")
    await expect(cards.nth(0).locator("[data-part='text.ko']")).to_have_value(NEW_KO)
    (unchanged,) = await _rules(ws.workspace_id)
    assert unchanged.steps[0]["text"]["en"] == rule.steps[0]["text"]["en"]
    await _shot(page, "builder-error-ko-1280")
    # Typing again clears the mark.
    await en.fill("Welcome!")
    await expect(page.locator("#field-error")).to_have_count(0)

    # A trigger with settings: the days field appears, and a bad value is marked there.
    await page.locator("#automation-trigger").select_option("contact.inactive")
    await expect(page.locator("#cfg-days")).to_be_visible()
    await expect(page.locator("#cfg-count")).to_be_hidden()
    await page.locator("#automation-save").click()
    await expect(page.locator("#automation-error")).to_contain_text("trigger_config.days")
    await expect(page.locator("#cfg-days")).to_have_attribute("aria-invalid", "true")

    for locale, width in (("en-US", 1280), ("ko-KR", 390), ("en-US", 390)):
        other = await _signed_in(new_context, live_server, ws, locale=locale, width=width)
        await other.goto(f"{live_server.url}/console/automations/{rule.id}")
        await expect(other.locator("#step-cards .step-card")).to_have_count(3)
        if locale.startswith("en"):
            await expect(other.locator("#automation-then legend")).to_have_text("Then do")
        # Nothing wider than the phone's screen.
        overflow = await other.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (locale, width, overflow)
        await _shot(other, f"builder-{locale[:2]}-{width}")


async def test_settings_page_saves_cap_and_quiet_hours(new_context, live_server, make_workspace):
    ws = await make_workspace(role=Role.supervisor)
    page = await _signed_in(new_context, live_server, ws, locale="ko-KR", width=1280)
    await page.goto(f"{live_server.url}/console/automations")
    await page.locator("#automation-settings-link").click()
    await expect(page.locator("h1")).to_have_text("자동화 설정")
    await expect(page.locator("#settings-cap")).to_have_value("3")
    await expect(page.locator("#settings-quiet-start")).to_have_value("20")
    await expect(page.locator("#settings-quiet-end")).to_have_value("8")
    await expect(page.locator("#settings-timezone")).to_have_value("Asia/Seoul")
    await _shot(page, "settings-ko-1280")
    await page.locator("#settings-cap").fill("500")
    await page.locator("#settings-save").click()
    await expect(page.locator("#settings-cap-error")).to_contain_text("0부터 100까지")
    await expect(page.locator("#settings-cap")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#settings-cap")).to_have_value("500")
    await _shot(page, "settings-error-ko-1280")
    await page.locator("#settings-cap").fill("2")
    await page.locator("#settings-quiet-start").select_option("21")
    await page.locator("#settings-quiet-end").select_option("7")
    await page.locator("#settings-timezone").select_option("Asia/Tokyo")
    await page.locator("#settings-save").click()
    await expect(page.locator("#settings-saved")).to_be_visible()
    await page.reload()
    await expect(page.locator("#settings-cap")).to_have_value("2")
    await expect(page.locator("#settings-quiet-start")).to_have_value("21")
    await expect(page.locator("#settings-quiet-end")).to_have_value("7")
    await expect(page.locator("#settings-timezone")).to_have_value("Asia/Tokyo")
    async with session_scope() as s:
        stored = await service.get_settings(s, workspace_id=ws.workspace_id)
        assert (stored.daily_cap, stored.quiet_start, stored.quiet_end, stored.timezone) == (
            2,
            21,
            7,
            "Asia/Tokyo",
        )
    for locale, width in (("en-US", 1280), ("ko-KR", 390), ("en-US", 390)):
        other = await _signed_in(new_context, live_server, ws, locale=locale, width=width)
        await other.goto(f"{live_server.url}/console/automations/settings")
        if locale.startswith("en"):
            await expect(other.locator("h1")).to_have_text("Automation settings")
        overflow = await other.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (locale, width, overflow)
        await _shot(other, f"settings-{locale[:2]}-{width}")
