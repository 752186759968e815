"""In Chromium: a 매니저 builds a practice scenario from a resolved conversation with the button
on it; a trainee starts it at ×4, the customer's messages arrive, the trainee replies (Enter)
and finishes it resolved, and sees the score with its parts. Screenshots (ko/en, 1280 and
390 px) of the scenarios list, the practice screen and the leaderboard go to
.pytest_cache/screens/."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.e2e.test_privacy_browser import SIZES, set_locale, shoot, sign_in
from tests.training.test_training import known_conversation

pytestmark = pytest.mark.browser


async def test_a_trainee_plays_a_scenario_and_replies(live_server, make_workspace, new_context):
    ws = await make_workspace()
    conv_id, _article = await known_conversation(ws)
    page = await (await new_context()).new_page()
    await page.set_viewport_size(SIZES["desktop"])
    await sign_in(page, live_server, ws)
    await page.goto(f"{live_server.url}/console/conversations/{conv_id}")
    await page.wait_for_function("window.htmx !== undefined")
    await page.locator("#make-scenario-button").click()
    await expect(page).to_have_url(re.compile(r"/console/training\?saved=\d+"))
    row = page.locator("#scenarios-table tbody tr").first
    await expect(row.locator(".scenario-title")).to_contain_text("김가상")
    await shoot(page, "training-list-ko")

    await row.locator("select[name=speed]").select_option("4")
    await row.locator(".start-practice").click()
    await expect(page).to_have_url(re.compile(r"/console/training/attempts/\d+$"))
    customer = page.locator('#messages .msg[data-role="customer"]')
    await expect(customer.first).to_contain_text("김가상입니다")
    await expect(customer).to_have_count(2, timeout=15_000)  # the second is due after 20 s ÷ 4
    box = page.locator("#practice-box")
    await box.fill("확인해 보니 내일 도착합니다. 불편을 드려 죄송합니다.")
    await box.press("Enter")
    await expect(page.locator('#messages .msg[data-role="trainee"]')).to_contain_text("내일 도착합니다")
    await expect(box).to_have_value("")
    await shoot(page, "training-practice-ko")
    await page.locator("#finish-resolved").click()
    await expect(page.locator("#score-card")).to_be_visible()
    await expect(page.locator('.score-part[data-part="resolved"] .score-points')).to_have_text("30 / 30")
    await expect(page.locator('.score-part[data-part="csat"] .score-why')).to_contain_text("4/5")
    await expect(page.locator("#new-badges")).to_contain_text("첫 연습")
    await shoot(page, "training-result-ko")
    await page.goto(f"{live_server.url}/console/training/leaderboard?period=all")
    await expect(page.locator("#leaderboard-table tbody tr")).to_have_count(1)
    await shoot(page, "training-leaderboard-ko")

    await set_locale(ws, "en")
    for path, name in (
        ("/console/training", "training-list-en"),
        ("/console/training/leaderboard?period=all", "training-leaderboard-en"),
    ):
        await page.goto(live_server.url + path)
        await shoot(page, name)
    await page.goto(f"{live_server.url}/console/training")
    await page.locator("#scenarios-table .start-practice").first.click()
    await expect(page.locator("#practice-banner")).to_contain_text("Practice mode")
    await shoot(page, "training-practice-en")
