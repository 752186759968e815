"""In Chromium: a 매니저 filters the overview by a segment, opens the sentiment and help-center
reports, the customers at risk of churning (with the model's AUC) and the weekly digest, and
subscribes to the digest e-mail. Screenshots (ko/en, 1280 and 390 px) go to SODAM_SHOTS_DIR."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import psycopg
import pytest
from playwright.async_api import expect

from sodam.analytics import churnrisk, rollup
from sodam.db.session import session_scope
from sodam.segments import service as segments
from tests.analytics import fixture
from tests.analytics.test_insights import _planted
from tests.e2e.test_surveys_browser import shoot, sign_in_as

pytestmark = pytest.mark.browser
PERIOD = "from=2026-03-04&to=2026-03-11"


async def test_segment_filter_churn_risk_and_digest(db, live_server, make_workspace, new_context):
    ws = await make_workspace()
    ids = fixture.build(db, ws)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    await _planted(db, ws, now)
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("UPDATE contacts SET company = '소담상사' WHERE id = %s", (ids["Y"],))
        conn.execute("UPDATE conversations SET tags = '{feature_request}' WHERE id = %s", (ids["C3"],))
    await rollup.refresh(db)
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        await churnrisk.retrain(conn, workspace_id=ws.workspace_id, now=now)
    async with session_scope() as s:
        seg = await segments.create(
            s,
            workspace_id=ws.workspace_id,
            name="소담상사 고객",
            filter={"all": [{"field": "company", "op": "set"}]},
        )
    context = await new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await sign_in_as(page, live_server, ws.agent_email, ws.agent_password)
    await page.goto(f"{live_server.url}/console/reports/overview?{PERIOD}")
    await expect(page.locator('.kpi-tile[data-kpi="conversations"] .kpi-value')).to_have_text("8")
    await page.locator("#filter-segment").select_option(str(seg.id))
    await page.locator("#report-apply").click()
    # Only Y's conversation C1 that week.
    await expect(page.locator('.kpi-tile[data-kpi="conversations"] .kpi-value')).to_have_text("1")
    await shoot(page, "reports-segment-ko")
    await page.locator("#tab-sentiment").click()
    await expect(page.locator("#tab-sentiment")).to_have_attribute("aria-current", "page")
    await shoot(page, "reports-sentiment-ko")
    await page.locator("#tab-helpcenter").click()
    await expect(page.locator("#helpcenter-note")).to_be_visible()
    await page.locator("#tab-churn-risk").click()
    await expect(page).to_have_url(re.compile(r"/console/reports/churn-risk$"))
    auc = page.locator('#churn-model .kpi-tile[data-kpi="auc"] .kpi-value')
    await expect(auc).to_have_text(re.compile(r"^[01]\.\d{3}$"))
    assert await page.locator('table[data-table="at_risk"] tbody tr').count() > 5
    await shoot(page, "reports-churn-risk-ko")
    await page.goto(f"{live_server.url}/console/reports/digest?week=2026-03-10")
    await expect(page.locator("#digest-period")).to_contain_text("2026-03-09 – 2026-03-15")
    await expect(page.locator("#block-feature-requests")).to_contain_text(f"#{ids['C3']}")
    await page.locator("#digest-subscribe").click()
    await expect(page.locator("#digest-subscribe")).to_have_text("이메일 받지 않기")
    await page.goto(f"{live_server.url}/console/reports/digest?week=2026-03-10")
    await shoot(page, "reports-digest-ko")
    await page.locator("select[name=locale]").select_option("en")
    await expect(page.locator("h1")).to_have_text("Reports")
    await page.goto(f"{live_server.url}/console/reports/digest?week=2026-03-10")
    await expect(page.locator("#digest-subscribe")).to_have_text("Stop the e-mail")
    await shoot(page, "reports-digest-en")
    await page.goto(f"{live_server.url}/console/reports/churn-risk")
    await shoot(page, "reports-churn-risk-en")
    await page.goto(f"{live_server.url}/console/reports/sentiment?{PERIOD}")
    await shoot(page, "reports-sentiment-en")
    await page.goto(f"{live_server.url}/console/reports/conversations?{PERIOD}&segment_id={seg.id}")
    await expect(page.locator("#filter-segment")).to_have_value(str(seg.id))
    await shoot(page, "reports-segment-en")
