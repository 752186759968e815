"""In Chromium: a 매니저 opens 보고서; the overview shows its KPI tiles and SVG trend lines drawn
from data, the table under a chart holds the same numbers, and its CSV downloads with those
rows; the conversations report's heatmap has the busy hours. Screenshots of the five reports
(ko/en, 1280 and 390 px) go to SODAM_SHOTS_DIR (default .pytest_cache/screens)."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.async_api import expect

from sodam.analytics import rollup
from tests.analytics import fixture
from tests.e2e.test_surveys_browser import shoot, sign_in_as

pytestmark = pytest.mark.browser
PERIOD = "from=2026-03-04&to=2026-03-11"


async def test_overview_renders_charts_with_data_and_the_csv_downloads(
    db, live_server, make_workspace, new_context
):
    ws = await make_workspace()
    fixture.build(db, ws)
    await rollup.refresh(db)
    context = await new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = await context.new_page()
    await sign_in_as(page, live_server, ws.agent_email, ws.agent_password)
    await page.locator("#nav-reports").click()
    await expect(page).to_have_url(re.compile(r"/console/reports/overview$"))
    # The fixture's week: pick the period in the filter form, as a 매니저 would.
    await page.locator("input[name=from]").fill("2026-03-04")
    await page.locator("input[name=to]").fill("2026-03-11")
    await page.locator("#report-apply").click()
    await expect(page.locator("#reports-period")).to_contain_text("2026-03-04 – 2026-03-11")
    tile = page.locator('.kpi-tile[data-kpi="conversations"] .kpi-value')
    await expect(tile).to_have_text("8")
    await expect(page.locator('.kpi-tile[data-kpi="fcr_pct"] .kpi-value')).to_have_text("66.7%")
    # The volume chart draws a line through eight days with a point on 03-10 above the axis.
    chart = page.locator("#chart-volume")
    await expect(chart).to_be_visible()
    assert await chart.locator("polyline").count() >= 2
    assert await chart.locator("circle").count() == 16  # 8 days × (conversations, resolved)
    box = await chart.bounding_box()
    assert box and box["width"] > 600
    # The table behind the charts and its CSV.
    await page.locator("#block-daily summary").click()
    row = page.locator('table[data-table="daily"] tbody tr', has_text="2026-03-10")
    await expect(row.locator("td").nth(1)).to_have_text("8")
    async with page.expect_download() as info:
        await page.locator("#csv-daily").click()
    download = await info.value
    text = await asyncio.to_thread(Path(await download.path()).read_text, encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["date", "conversations", "resolved"]
    assert ["2026-03-10", "8", "3"] == rows[1 + 6][:3]
    assert len(rows) == 1 + 8
    await shoot(page, "reports-overview-ko")
    for name in ("conversations", "agents", "bot", "surveys"):
        await page.locator(f"#tab-{name}").click()
        await expect(page.locator(f"#tab-{name}")).to_have_attribute("aria-current", "page")
        await shoot(page, f"reports-{name}-ko")
    await page.locator("#tab-conversations").click()
    heat = page.locator("#chart-heatmap rect.cell")
    assert await heat.count() == 7 * 24
    # English.
    await page.locator("select[name=locale]").select_option("en")
    await expect(page.locator("h1")).to_have_text("Reports")
    await page.goto(f"{live_server.url}/console/reports/conversations?{PERIOD}")
    await shoot(page, "reports-conversations-en")
    await page.locator("#tab-overview").click()
    await expect(page.locator('.kpi-tile[data-kpi="conversations"] .kpi-label')).to_have_text("Conversations")
    await shoot(page, "reports-overview-en")
    for name in ("agents", "bot", "surveys"):
        await page.locator(f"#tab-{name}").click()
        await shoot(page, f"reports-{name}-en")
    # A period with nothing: zeros and dashes, no error.
    empty = (date(2026, 3, 10) - timedelta(days=400)).isoformat()
    await page.goto(f"{live_server.url}/console/reports/overview?from={empty}&to={empty}")
    await expect(page.locator('.kpi-tile[data-kpi="conversations"] .kpi-value')).to_have_text("0")
    await expect(page.locator('.kpi-tile[data-kpi="csat_pct"] .kpi-value')).to_have_text("—")
