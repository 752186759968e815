"""In Chromium: the retention cohort triangle renders with its colour scale and its CSV link, the
journey map draws its flow and opens one customer's journey, the agents report shows time
online, and the screen pop shows the churn risk. Screenshots (ko/en, 1280 and 390 px) go to
SODAM_SHOTS_DIR."""

from __future__ import annotations

import json

import psycopg
import pytest
from playwright.async_api import expect

from sodam.analytics import rollup
from tests.analytics.fixture import Builder, at
from tests.analytics.test_journeys import build
from tests.e2e.test_surveys_browser import shoot, sign_in_as

pytestmark = pytest.mark.browser
PERIOD = "from=2026-01-01&to=2026-03-31&churn_days=30"


async def test_cohorts_journey_time_online_and_churn_risk(db, live_server, make_workspace, new_context):
    ws = await make_workspace()
    ids = build(db, ws)
    with psycopg.connect(db, autocommit=True) as conn:
        agent = Builder(conn, ws).agent("G")
        conn.execute(
            "INSERT INTO agent_states (agent_id, workspace_id, availability, changed_at) VALUES (%s, %s, 'offline', %s)",
            (agent, ws.workspace_id, at("00:00", "2026-03-01")),
        )
        for state, hhmm in (
            ("online", "09:00"),
            ("away", "12:00"),
            ("online", "13:00"),
            ("offline", "18:00"),
        ):
            conn.execute(
                "UPDATE agent_states SET availability = %s, changed_at = %s WHERE agent_id = %s",
                (state, at(hhmm, "2026-03-10"), agent),
            )
        conn.execute(
            "INSERT INTO churn_scores (workspace_id, contact_id, risk, features) VALUES (%s, %s, 0.82, %s)",
            (
                ws.workspace_id,
                ids["A"],
                json.dumps({"top": [{"feature": "days_since_last", "direction": "high"}]}),
            ),
        )
    await rollup.refresh(db)
    context = await new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await sign_in_as(page, live_server, ws.agent_email, ws.agent_password)
    await page.goto(f"{live_server.url}/console/reports/retention?{PERIOD}")
    row = page.locator('table[data-table="cohorts"] tbody tr', has_text="2026-02")
    await expect(row.locator("td").nth(2)).to_have_text("100.0")
    await expect(row.locator("td.shade").first).to_be_visible()
    await expect(page.locator("#chart-retention_curve")).to_be_visible()
    assert "table=cohorts" in (await page.locator("#csv-cohorts").get_attribute("href"))
    await shoot(page, "reports-retention-ko")
    await page.locator("#tab-journey").click()
    await expect(page.locator("#chart-paths")).to_be_visible()
    await shoot(page, "reports-journey-ko")
    await page.locator("#journey-pick input[name=contact_id]").fill(str(ids["J"]))
    await page.locator("#journey-pick-go").click()
    await expect(page.locator("#chart-satisfaction")).to_be_visible()
    await shoot(page, "reports-journey-contact-ko")
    await page.goto(f"{live_server.url}/console/reports/agents?from=2026-03-10&to=2026-03-10")
    await expect(page.locator("#block-availability_daily")).to_contain_text("8.0시간")
    await shoot(page, "reports-agents-online-ko")
    await page.goto(f"{live_server.url}/console/contacts/{ids['A']}/screen-pop")
    await expect(page.locator("#pop-churn-risk")).to_contain_text("82%")
    await page.goto(f"{live_server.url}/console/reports/retention?{PERIOD}")
    await page.locator("select[name=locale]").select_option("en")
    await expect(page.locator("h1")).to_have_text("Reports")
    await page.goto(f"{live_server.url}/console/reports/retention?{PERIOD}")
    await expect(page.locator("#block-cohorts h2")).to_have_text("Retention by cohort (share of the cohort)")
    await shoot(page, "reports-retention-en")
    await page.goto(f"{live_server.url}/console/reports/journey?{PERIOD}")
    await shoot(page, "reports-journey-en")
    await page.goto(f"{live_server.url}/console/reports/journey/contacts/{ids['J']}")
    await shoot(page, "reports-journey-contact-en")
    await page.goto(f"{live_server.url}/console/reports/agents?from=2026-03-10&to=2026-03-10")
    await shoot(page, "reports-agents-online-en")
    await context.close()
