"""In Chromium: the business-hours editor refuses overlapping spans with the day named and
saves several spans a day; the SLA settings page; the inbox list sorted by due time with
amber and red badges. Screenshots (ko/en, 1280 and 390 px) go to .pytest_cache/screens/ and,
when SODAM_SHOTS_DIR is set, there too."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import expect

from sodam.conversations.models import Priority
from tests.e2e.test_privacy_browser import SCREENS, set_locale, shoot, sign_in
from tests.sla.helpers import queued_conversation, with_policy

pytestmark = pytest.mark.browser


def _copy_out() -> None:
    target = os.environ.get("SODAM_SHOTS_DIR")
    if target:
        os.makedirs(target, exist_ok=True)
        for path in SCREENS.glob("hours-*.png"):
            shutil.copy(path, target)
        for path in SCREENS.glob("sla-*.png"):
            shutil.copy(path, target)


async def test_hours_editor_and_sla_pages_in_the_browser(live_server, make_workspace, new_context):
    ws = await make_workspace()
    await with_policy(ws, business_hours=False)
    now = datetime.now(UTC)
    await queued_conversation(ws, at=now - timedelta(minutes=40), priority=Priority.urgent, name="박서연")
    await queued_conversation(ws, at=now - timedelta(hours=3, minutes=10), name="최준호")
    await queued_conversation(ws, at=now - timedelta(minutes=2), name="Emily Clark", tier="vip")
    context = await new_context()
    page = await context.new_page()
    await sign_in(page, live_server, ws)
    for locale in ("ko", "en"):
        await set_locale(ws, locale)
        await page.goto(f"{live_server.url}/console/settings/hours/inboxes/{ws.inbox_id}")
        await page.locator("#hours-day-mon").fill("09:00-12:00, 11:30-18:00")
        await page.locator("#hours-day-tue").fill("18:00-09:00")
        await page.locator("#hours-timezone").fill("Asia/Busan")
        await page.locator("#hours-save").click()
        errors = page.locator("#hours-errors")
        await expect(errors).to_be_visible()
        await expect(errors).to_contain_text("월요일" if locale == "ko" else "Monday")
        await expect(page.locator("#hours-day-mon")).to_have_attribute("aria-invalid", "true")
        await shoot(page, f"hours-errors-{locale}")
        await page.locator("#hours-day-mon").fill("09:00-12:00, 13:00-18:00")
        await page.locator("#hours-day-tue").fill("09:00-18:00")
        await page.locator("#hours-timezone").fill("Asia/Seoul")
        await page.locator("#hours-country").select_option("KR")
        await page.locator("#hours-days-off").fill("2027-03-02 창립기념일")
        await page.locator("#hours-save").click()
        await expect(page.locator("#hours-saved")).to_be_visible()
        await expect(page.locator("#hours-holidays")).to_contain_text("2027-02-07")
        await shoot(page, f"hours-editor-{locale}")

        await page.goto(f"{live_server.url}/console/settings/sla")
        await expect(page.locator(".sla-card")).to_have_count(1)
        await shoot(page, f"sla-policies-{locale}")
        await page.locator(".sla-card h2 a").click()
        await expect(page.locator("#sla-form")).to_be_visible()
        await page.wait_for_load_state("load")  # the page's deferred scripts have run
        await shoot(page, f"sla-editor-{locale}")

        await page.goto(f"{live_server.url}/console?view=all&sort=due")
        rows = page.locator("#conversation-list .conv-row")
        await expect(rows).to_have_count(3)
        await expect(rows.nth(0).locator("[data-sla-state]")).to_have_attribute("data-sla-state", "breached")
        await expect(rows.nth(1).locator("[data-sla-state]")).to_have_attribute("data-sla-state", "ok")
        await expect(page.locator(".sort-filter.active")).to_contain_text(
            "기한 임박순" if locale == "ko" else "Due soonest"
        )
        await shoot(page, f"sla-list-{locale}")
    _copy_out()


async def test_a_breach_is_announced_live_to_the_manager(live_server, make_workspace, new_context):
    from sodam.db.session import session_scope
    from sodam.sla import clocks

    ws = await make_workspace()
    await set_locale(ws, "ko")
    await with_policy(ws, business_hours=False)
    context = await new_context()
    page = await context.new_page()
    await sign_in(page, live_server, ws)
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "connected")
    # The admin of a workspace without teams is one of the 매니저 told of a breach.
    cid = await queued_conversation(ws, at=datetime.now(UTC) - timedelta(hours=5), name="늦은 고객")
    async with session_scope() as session:
        await clocks.breach(session, conversation_id=cid, kind="first_response")  # or the worker's job
        await session.commit()
    await expect(page.locator("body")).to_have_attribute("data-last-notification", f"sla:{cid}")
    await page.reload()
    notice = page.locator('.security-notice[data-kind="sla_breached"]')
    await expect(notice).to_contain_text("첫 응답 목표 시간을 넘겼습니다")
    await expect(notice.locator("a")).to_have_attribute("href", f"/console/conversations/{cid}")
