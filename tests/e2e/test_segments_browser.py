"""In Chromium: a 매니저 builds a segment row by row in the console, sees the live count follow
each change (the preview endpoint), saves it, finds it in the list with its count, opens the
contacts list filtered by it, and sees it among the contact's segments in the screen pop.
Screenshots (ko/en, 1280 and 390 px) go to SODAM_SHOTS_DIR (default .pytest_cache/screens)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.e2e.test_privacy_browser import set_locale
from tests.e2e.test_surveys_browser import shoot, sign_in_as
from tests.segments.fixture import build

pytestmark = pytest.mark.browser


async def test_build_a_segment_and_see_its_count(live_server, make_workspace, new_context):
    ws = await make_workspace()
    people = await build(ws)
    page = await (await new_context()).new_page()
    await sign_in_as(page, live_server, ws.agent_email, ws.agent_password)
    await page.locator("#nav-segments").click()
    await expect(page.locator("h1")).to_have_text("세그먼트")
    await page.wait_for_load_state("load")  # its deferred scripts have run
    await page.locator("#segment-new").click()
    await page.locator("#segment-name-input").fill("한국어 불만 고객")
    rows = page.locator("#segment-rows .segment-row")
    await expect(rows).to_have_count(1)  # the starter: tier is VIP
    live = page.locator("#segment-live-count")
    await expect(live).to_have_attribute("data-count", "1")  # Kim
    # Change the first row to "language is one of ko" (Kim and Park).
    first = rows.nth(0)
    await first.locator(".seg-field").select_option("language")
    await first.locator(".seg-value").fill("ko")
    await expect(live).to_have_attribute("data-count", "2")
    # Add "last CSAT at least 4": Kim only.
    await page.locator("#segment-add").click()
    second = rows.nth(1)
    await second.locator(".seg-field").select_option("csat")
    await second.locator(".seg-op").select_option("gte")
    await second.locator(".seg-value").fill("4")
    await expect(live).to_have_attribute("data-count", "1")
    # "any" instead of "all": Kim, Park (ko) or anyone with CSAT ≥ 4 (Kim).
    await page.locator("#segment-mode").select_option("any")
    await expect(live).to_have_attribute("data-count", "2")
    await page.locator("#segment-mode").select_option("all")
    await expect(live).to_have_attribute("data-count", "1")
    # A bad value shows where it is, and no count.
    await second.locator(".seg-value").fill("9")
    await expect(page.locator("#segment-live-error")).to_contain_text("filter.all[1].value")
    await second.locator(".seg-value").fill("4")
    await expect(page.locator("#segment-live-error")).to_be_hidden()
    await expect(live).to_have_attribute("data-count", "1")
    await shoot(page, "console-segment-builder-ko")
    await page.locator("#segment-save").click()
    await expect(page).to_have_url(re.compile(r"/console/segments\?saved=\d+$"))
    row = page.locator("#segments-table tbody tr").filter(has_text="한국어 불만 고객")
    await expect(row.locator(".segment-count-value")).to_have_attribute("data-count", "1")
    await shoot(page, "console-segments-ko")
    await row.locator("a").first.click()
    await expect(page.locator("#contacts-table tbody tr")).to_have_count(1)
    await expect(page.locator("#segment-total")).to_contain_text("1명")
    await expect(page.locator(f"#contacts-table tr[data-contact-id='{people.kim}']")).to_be_visible()
    await shoot(page, "console-segment-contacts-ko")
    # The contacts list offers the segment as a filter.
    await page.goto(f"{live_server.url}/console/contacts")
    await expect(page.locator("#segment-picker select")).to_be_visible()
    await shoot(page, "console-contacts-picker-ko")
    await page.locator("#segment-picker select").select_option(label="한국어 불만 고객")
    await page.locator("#segment-picker button").click()
    await expect(page.locator("#segment-name")).to_have_text("한국어 불만 고객")
    # The screen pop of Kim names the segment.
    await page.goto(f"{live_server.url}/console/contacts/{people.kim}")
    await expect(page.locator("#pop-segments")).to_contain_text("한국어 불만 고객")
    await shoot(page, "console-contact-pop-segments-ko")
    # English.
    await set_locale(ws, "en")
    await page.goto(f"{live_server.url}/console/segments")
    await expect(page.locator("h1")).to_have_text("Segments")
    await expect(page.locator(".segment-count-value")).to_have_attribute("data-count", "1")
    await shoot(page, "console-segments-en")
    await page.locator("#segments-table a", has_text="Edit").click()
    await expect(page.locator("#segment-live-count")).to_have_attribute("data-count", "1")
    await expect(page.locator("#segment-rows .segment-row")).to_have_count(2)
    await shoot(page, "console-segment-builder-en")
