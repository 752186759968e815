"""In Chromium: an incident banner appears live in an open widget and clears live; a campaign
message arrives live in an open widget and counts as opened. Screenshots of the widget and the
console screens (ko and en, 1280 and 390 px) go to /tmp/shots-campaigns."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

import pytest
from playwright.async_api import expect
from sqlalchemy import text

from sodam.db.session import session_scope
from tests.campaigns.helpers import segment, wait_for
from tests.webhooks.helpers import api as make_api

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("SODAM_SHOTS_DIR", str(Path(tempfile.gettempdir()) / "shots-campaigns")))


async def _sign_in(page, server, ws):
    await page.goto(f"{server.url}/console/login")
    await page.locator("input[name=email]").fill(ws.agent_email)
    await page.locator("input[name=password]").fill(ws.agent_password)
    await page.locator("button[type=submit]").click()
    await expect(page).to_have_url(f"{server.url}/console")


async def test_banner_and_campaign_message_arrive_live_in_an_open_widget(
    new_context, host_site, live_server, make_workspace
):
    os.makedirs(SHOTS, exist_ok=True)
    ws = await make_workspace(allowed_origins=[host_site.origin], company_name="소담 쇼핑")
    context = await new_context(viewport={"width": 390, "height": 760})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(host_site.page_url(ws.inbox_token))
    await page.locator("#sodam-launcher").click()
    await expect(page.locator("#sodam-panel")).to_be_visible()
    await page.locator("#sodam-input").fill("안녕하세요")
    await page.locator("#sodam-input").press("Enter")
    await expect(page.locator("#sodam-messages .msg.mine")).to_have_attribute("data-status", "sent")
    banners = page.locator("#sodam-banners .banner")
    await expect(banners).to_have_count(0)
    async with make_api(live_server, ws.api_token) as api:
        # An incident starts: the open widget shows it without a reload.
        r = await api.post(
            "/api/v1/announcements",
            json={
                "text_ko": "현재 결제 장애로 카드 결제가 지연되고 있습니다.",
                "text_en": "Card payments are delayed.",
            },
        )
        await expect(banners).to_have_count(1)
        await expect(banners.first).to_have_text("현재 결제 장애로 카드 결제가 지연되고 있습니다.")
        await page.screenshot(path=str(SHOTS / "widget-banner-ko-390.png"))
        # A campaign to everyone: the message arrives live, from the team.
        seg = await segment(api)
        c = (
            await api.post(
                "/api/v1/campaigns",
                json={
                    "name": "신기능",
                    "segment_id": seg,
                    "inbox_id": ws.inbox_id,
                    "channel": "widget_message",
                    "body_ko": "{name}님, 새 기능이 나왔어요! 자세히 보기: https://example.com/new",
                    "rate_per_s": 5,
                },
            )
        ).json()
        await api.post(f"/api/v1/campaigns/{c['id']}/start")
        agent = page.locator("#sodam-messages .msg.agent")
        await expect(agent).to_have_count(1, timeout=20_000)
        await expect(agent.first.locator(".msg-body")).to_contain_text("새 기능이 나왔어요!")
        await page.screenshot(path=str(SHOTS / "widget-campaign-ko-390.png"))
        await wait_for(api, c["id"])
        for _ in range(50):
            if (await api.get(f"/api/v1/campaigns/{c['id']}/stats")).json()["opened"] == 1:
                break
            await asyncio.sleep(0.2)
        assert (await api.get(f"/api/v1/campaigns/{c['id']}/stats")).json()["opened"] == 1
        # Cleared: gone from the open widget, live.
        await api.post(f"/api/v1/announcements/{r.json()['id']}/clear")
        await expect(banners).to_have_count(0)
        # Another incident for the screenshots of the console.
        await api.post(
            "/api/v1/announcements",
            json={
                "text_ko": "오늘 22시부터 2시간 동안 점검합니다.",
                "text_en": "Maintenance tonight from 22:00.",
                "severity": "minor",
            },
        )
    assert errors == []
    for locale, lang in (("ko-KR", "ko"), ("en-US", "en")):
        async with session_scope() as session:  # the console speaks the agent's language
            await session.execute(
                text("UPDATE agents SET locale = :l WHERE id = :a"), {"l": lang, "a": ws.agent_id}
            )
        for width in (1280, 390):
            ctx = await new_context(locale=locale, viewport={"width": width, "height": 900})
            console = await ctx.new_page()
            await _sign_in(console, live_server, ws)
            for name, path in (
                ("list", "/console/campaigns"),
                ("edit", f"/console/campaigns/{c['id']}"),
                ("new", "/console/campaigns/new"),
                ("announcements", "/console/campaigns/announcements"),
            ):
                r = await console.goto(f"{live_server.url}{path}")
                assert r.status == 200, path
                await console.screenshot(
                    path=str(SHOTS / f"console-{name}-{lang}-{width}.png"), full_page=True
                )
