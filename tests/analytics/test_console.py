"""The 보고서 screens: every report renders its tiles, charts and tables in Korean and English,
the CSV link downloads the table, an agent without the permission is refused, a bad filter is
said and the default period shown, and another workspace's data never shows."""

from __future__ import annotations

import csv
import io

from sodam.analytics import rollup, service
from tests.analytics import fixture
from tests.test_console_helpers import console_client, post

PERIOD = "from=2026-03-10&to=2026-03-10"


async def test_every_report_renders_with_charts_and_csv(db, live_server, make_workspace):
    ws = await make_workspace()
    other = await make_workspace()
    fixture.build(db, other)  # another workspace's history: never shown
    ids = fixture.build(db, ws)
    await rollup.refresh(db)
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        r = await client.get("/console/reports")
        assert r.status_code == 303 and r.headers["location"] == "/console/reports/overview"
        for name in service.REPORTS:
            r = await client.get(f"/console/reports/{name}?{PERIOD}")
            assert r.status_code == 200, r.text
            assert 'id="nav-reports"' in r.text and ('class="chart"' in r.text or name == "helpcenter")
            assert "보고서" in r.text
        page = (await client.get(f"/console/reports/conversations?{PERIOD}")).text
        assert 'id="chart-heatmap"' in page and 'id="csv-heatmap"' in page
        agents = (await client.get(f"/console/reports/agents?{PERIOD}")).text
        assert "상담원 A1" in agents
        r = await client.get(f"/console/reports/overview/csv?{PERIOD}&table=daily")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
        assert rows[1][:3] == ["2026-03-10", "8", "3"]
        # Filtered by an inbox of this workspace: one conversation that day.
        r = await client.get(f"/console/reports/overview/csv?{PERIOD}&inbox_id={ids['I2']}")
        assert list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))[1][1] == "1"
        r = await client.get("/console/reports/overview?from=2026-03-10&to=2026-01-01")
        assert r.status_code == 200 and 'id="reports-error"' in r.text
        await post(client, "/console/preferences/locale", {"locale": "en", "next": "/console"})
        page = (await client.get(f"/console/reports/bot?{PERIOD}")).text
        assert "Bot containment" in page and "Customer asked for a person" in page
    finally:
        await client.aclose()


async def test_agents_without_the_permission_are_refused(live_server, make_workspace):
    from sodam.accounts.models import Role

    ws = await make_workspace(role=Role.agent)
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        r = await client.get("/console/reports/overview")
        assert r.status_code == 403
        assert 'id="nav-reports"' not in (await client.get("/console")).text
        assert (await client.get("/console/reports/overview/csv")).status_code == 403
    finally:
        await client.aclose()
